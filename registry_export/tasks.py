"""Celery tasks of the registry export; each only calls a service (DESIGN.md section 7).

acks_late + reject_on_worker_lost: a task whose worker dies is delivered again; the services'
row locks make a second delivery harmless (it finds the work done or takes it over).
Arguments are ids only, never patient data.
"""

from __future__ import annotations

from celery import group, shared_task

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


class CeleryQueue:
    """The services' TaskQueue (services.task_queue, set by RegistryExportConfig.ready): the
    next step of a run, sent to the workers."""

    def start_run(self, run_id: int) -> None:
        export_run_start.delay(run_id)

    def write_partitions(self, run_id: int, attempt: int, indexes: list[int]) -> None:
        group(export_partition.s(run_id, attempt, i) for i in indexes).apply_async()

    def finalize_run(self, run_id: int) -> None:
        export_run_finalize.delay(run_id)
