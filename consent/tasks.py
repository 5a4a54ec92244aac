"""Celery tasks of consent: they only call services."""

from __future__ import annotations

from celery import shared_task

from consent import access_chain


@shared_task(name="consent.tasks.access_log_seal", ignore_result=True)
def access_log_seal() -> int:
    """Beat, every minute: seal the access-log rows written since the last run."""
    return access_chain.seal()
