"""Celery tasks of reminders: they only call services."""

from __future__ import annotations

from celery import shared_task

from reminders import services


@shared_task(name="reminders.tasks.reminders_dispatch", acks_late=False)
def reminders_dispatch() -> dict:
    """The beat tick (CELERY_BEAT_SCHEDULE). Not redelivered if a worker dies mid-tick: the next
    tick picks up whatever was not yet claimed, and claimed sends are never repeated."""
    return services.reminders_dispatch().as_dict()
