"""Celery tasks of the registry export; each only calls a service (DESIGN.md section 7).

acks_late + reject_on_worker_lost: a task whose worker dies is delivered again; the services'
row locks make a second delivery harmless (it finds the work done or takes it over).
Arguments are ids only, never patient data.
"""

from __future__ import annotations

from celery import shared_task

from registry_export import services
from registry_export.models import Destination, RunTrigger

_RELIABLE = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


@shared_task(name="registry_export.tasks.export_destination_scheduled", **_RELIABLE)
def export_destination_scheduled(destination_id: str) -> None:
    destination = Destination.objects.filter(pk=destination_id, is_active=True).first()
    if destination is not None:
        services.export_run_request(destination=destination, trigger=RunTrigger.SCHEDULE)


@shared_task(name="registry_export.tasks.export_run_start", **_RELIABLE)
def export_run_start(run_id: int) -> None:
    try:
        services.export_run_dispatch(run_id=run_id)
    except Exception as exc:
        services.export_run_fail(run_id=run_id, error=exc)
        raise


@shared_task(name="registry_export.tasks.export_partition", **_RELIABLE)
def export_partition(run_id: int, attempt: int, index: int) -> None:
    try:
        services.export_partition_write(run_id=run_id, attempt=attempt, index=index)
    except Exception as exc:
        services.export_run_fail(run_id=run_id, error=exc)
        raise


@shared_task(name="registry_export.tasks.export_run_finalize", **_RELIABLE)
def export_run_finalize(run_id: int) -> None:
    try:
        services.export_run_finalize(run_id=run_id)
    except Exception as exc:
        services.export_run_fail(run_id=run_id, error=exc)
        raise


@shared_task(name="registry_export.tasks.export_runs_resume", **_RELIABLE)
def export_runs_resume() -> None:
    services.export_runs_resume()
