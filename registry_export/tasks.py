"""Celery tasks of the registry export; each only calls a service (DESIGN.md section 7).

acks_late + reject_on_worker_lost: a task whose worker dies is delivered again; the services'
leases and row locks make a second delivery harmless (it finds the work done or takes it over).
Arguments are ids only, never patient data.

Recovery does not wait for that redelivery (the broker's visibility timeout, hours) nor for beat
(issue 16): every worker, when it starts, resumes the active runs, and then sweeps every half
lease for partitions whose writer stopped renewing its lease (killed, or cut off), and sends
them out again.
"""

from __future__ import annotations

import logging
import threading

from celery import group, shared_task
from celery.signals import worker_ready, worker_shutdown
from django.conf import settings
from django.db import connection

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


logger = logging.getLogger(__name__)
_sweep_stop = threading.Event()


def _guarded(step, what: str) -> None:
    """One recovery step; a failure (database away for a moment) is logged, never fatal to the
    worker, and the next sweep tries again."""
    try:
        step()
    except Exception:
        logger.exception("registry export: %s failed", what)
    finally:
        connection.close()  # this thread's own connection; the next sweep opens a fresh one


def _sweep_forever(every: float) -> None:
    while not _sweep_stop.wait(every):
        _guarded(services.export_runs_reclaim, "reclaiming stalled partitions")


@worker_ready.connect
def resume_at_worker_start(**kwargs) -> None:
    """A starting worker picks up what dead workers left (runs a killed worker was planning,
    finalizing or writing), then watches for partitions whose lease runs out. In the worker's
    main process, on a thread of its own: it only reads rows and sends messages."""
    _sweep_stop.clear()
    thread = threading.Thread(target=_recover, name="registry-export-reclaim", daemon=True)
    thread.start()


def _recover() -> None:
    _guarded(services.export_runs_resume, "resuming active runs")
    _sweep_forever(settings.REGISTRY_EXPORT_LEASE_SECONDS / 2)


@worker_shutdown.connect
def stop_sweeping(**kwargs) -> None:
    _sweep_stop.set()


class CeleryQueue:
    """The services' TaskQueue (services.task_queue, set by RegistryExportConfig.ready): the
    next step of a run, sent to the workers."""

    def start_run(self, run_id: int) -> None:
        export_run_start.delay(run_id)

    def write_partitions(self, run_id: int, attempt: int, indexes: list[int]) -> None:
        group(export_partition.s(run_id, attempt, i) for i in indexes).apply_async()

    def finalize_run(self, run_id: int) -> None:
        export_run_finalize.delay(run_id)
