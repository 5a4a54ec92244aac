"""Writes of the registry export: destinations, and the run state machine.

A run goes pending -> running -> succeeded | failed:

1. `export_run_request` creates the run for the next period (or re-opens the latest failed run,
   with its period and consent snapshot unchanged, so the retry writes identical files).
2. `export_run_plan` claims it (select_for_update(skip_locked=True)), snapshots the consenting
   patients and splits them into patient-range partitions; the partitions go out as a Celery
   group.
3. `export_partition_write` claims one partition with a lease (SELECT ... FOR UPDATE SKIP
   LOCKED, then a token and an expiry of settings.REGISTRY_EXPORT_LEASE_SECONDS, renewed while it
   writes), writes its part files and, if the lease is still its own, publishes them. A worker
   killed mid-partition stops renewing; once the lease has run out, `export_runs_reclaim` (every
   live worker sweeps every half lease) sends the partition out again, and a worker that starts
   resumes every active run (`export_runs_resume`): recovery needs neither beat nor the broker's
   redelivery (issue 16). Completion and the run's counters are committed together.
4. `export_run_finalize` (when every partition is done) renames each partition's files into the
   run folder (Patient.00003.ndjson is partition 3's; nothing is copied or concatenated), adds
   the withdrawal lists, the data dictionary and manifest.json listing every file, and renames
   the folder into place before marking the run succeeded.

Any exception marks the run failed with its error and removes every file of the run. Files depend
only on the rows, the period and the partitioning, never on the attempt, so a re-run with the
same partitioning is byte-identical whatever happens in between.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection, transaction
from django.db.models import F, Max, Q
from django.db.models.functions import Now
from django.utils import timezone

from registry_export import parallel, sources, storage
from registry_export.formats import PartFiles
from registry_export.formats import definitions as fhir_definitions
from registry_export.formats import fhir as fhir_format
from registry_export.formats import redcap as redcap_format
from registry_export.models import (
    ACTIVE_STATUSES,
    EPOCH,
    ConsentScope,
    Destination,
    ExportMode,
    ExportPartition,
    ExportRun,
    ExportRunMember,
    ExportRunWithdrawal,
    PartitionStatus,
    RunStatus,
    RunTrigger,
)
from registry_export.pseudonyms import new_secret, pseudonymiser_for, secret_wrap

logger = logging.getLogger(__name__)

FORMAT_VALUES = ("fhir", "redcap")
MANIFEST_FILE = "manifest.json"
WITHDRAWALS_FILE = "withdrawals.csv"
DELETED_FILE = "Bundle.deleted.ndjson"
MANIFEST_VERSION = 1
SCHEDULE_TASK = "registry_export.tasks.export_destination_scheduled"
RESUME_TASK = "registry_export.tasks.export_runs_resume"
RESUME_TASK_NAME = "registry-export: resume stalled runs"
PROGRESS_TTL = 24 * 60 * 60
# How often (patients) a partition publishes its live progress.
PROGRESS_EVERY = 25


class ExportError(Exception):
    """A run cannot go on; its message is shown to researchers (never patient data)."""


def software_version() -> str:
    try:
        return importlib.metadata.version("sjogrens-diary")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


# --- Destinations -------------------------------------------------------------------------------


def _clean_formats(formats: Iterable[str]) -> list[str]:
    wanted = [f.strip().lower() for f in formats if f and f.strip()]
    unknown = sorted(set(wanted) - set(FORMAT_VALUES))
    if unknown:
        raise ValidationError(
            {"formats": f"Unknown format(s): {', '.join(unknown)}; choose fhir and/or redcap."}
        )
    if not wanted:
        raise ValidationError({"formats": "Choose at least one format: fhir, redcap."})
    return wanted


def destination_init_secret(*, destination: Destination) -> None:
    """Give a new destination its pseudonym secret, wrapped by the first KEK."""
    blob, kek_id = secret_wrap(destination_id=destination.pk, secret=new_secret())
    destination.pseudonym_secret_wrapped = blob
    destination.pseudonym_kek_id = kek_id


@transaction.atomic
def destination_create(
    *,
    name: str,
    formats: Iterable[str],
    consent_scope: str,
    registry=None,
    mode: str = ExportMode.FULL,
    schedule=None,
    researchers: Iterable = (),
    partition_size: int = 2000,
    description: str = "",
) -> Destination:
    if not consent_scope:
        raise ValidationError(
            {
                "consent_scope": "A destination needs a consent scope: registry_sharing or "
                "nhs_linkage."
            }
        )
    if consent_scope not in ConsentScope.values:
        raise ValidationError(
            {
                "consent_scope": f"Unknown consent scope {consent_scope!r}: choose "
                f"{' or '.join(ConsentScope.values)}."
            }
        )
    chosen = _clean_formats(formats)
    destination = Destination(
        name=(name or "").strip(),
        description=description,
        format_fhir="fhir" in chosen,
        format_redcap="redcap" in chosen,
        consent_scope=consent_scope,
        registry=registry,
        mode=mode,
        schedule=schedule,
        partition_size=partition_size,
    )
    destination_init_secret(destination=destination)
    destination.full_clean()
    destination.save()
    destination.researchers.set(list(researchers))
    destination_schedule_sync(destination=destination)
    return destination


def destination_schedule_sync(*, destination: Destination) -> None:
    """Keep the destination's django-celery-beat PeriodicTask in step with its crontab."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    task = destination.periodic_task
    if destination.schedule is None:
        if task is not None:
            destination.periodic_task = None
            destination.save(update_fields=["periodic_task"])
            task.delete()
    else:
        if task is None:
            task = PeriodicTask(name=f"registry-export: {destination.pk}")
        task.task = SCHEDULE_TASK
        task.crontab = destination.schedule
        task.interval = None
        task.args = json.dumps([str(destination.pk)])
        task.enabled = destination.is_active
        task.description = f"Registry export of {destination.name}"
        task.save()
        if destination.periodic_task_id != task.pk:
            destination.periodic_task = task
            destination.save(update_fields=["periodic_task"])
    # One beat entry re-dispatches runs whose worker died (see export_runs_resume).
    every, _ = IntervalSchedule.objects.get_or_create(every=5, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.get_or_create(
        name=RESUME_TASK_NAME, defaults={"task": RESUME_TASK, "interval": every}
    )


# --- Requesting a run ---------------------------------------------------------------------------


def _enqueue(fn: Callable[[], object]) -> None:
    transaction.on_commit(fn)


# --- Background steps ---------------------------------------------------------------------------
# A task calls a service, never the other way round (DESIGN.md section 1): services do not import
# their tasks module. The next step of a run goes to `task_queue`, which
# RegistryExportConfig.ready sets to registry_export.tasks.CeleryQueue.


class TaskQueue(Protocol):
    def start_run(self, run_id: int) -> None: ...
    def write_partitions(self, run_id: int, attempt: int, indexes: list[int]) -> None: ...
    def finalize_run(self, run_id: int) -> None: ...


task_queue: TaskQueue | None = None


def _queue() -> TaskQueue:
    if task_queue is None:
        raise ImproperlyConfigured("registry_export has no task queue: is the app installed?")
    return task_queue


@transaction.atomic
def export_run_request(
    *,
    destination: Destination,
    trigger: str,
    requested_by=None,
    full: bool | None = None,
    now: datetime | None = None,
    dispatch: bool = True,
    since: datetime | None = None,
) -> tuple[ExportRun, bool]:
    """The run to do next for a destination, and whether it is new.

    A run still pending or running is returned as it is (one at a time per destination). The
    latest run, if it failed, is re-opened unchanged: same period, same consent snapshot, hence
    identical files. Otherwise a new run covers (end of the last successful run, now] for an
    incremental destination, or everything up to now for a full one; `since` (a Bulk Data
    `_since`) asks for (since, now] instead.
    """
    if trigger not in RunTrigger.values:
        raise ValueError(f"Unknown trigger {trigger!r}.")
    destination = Destination.objects.select_for_update().get(pk=destination.pk)
    if not destination.is_active:
        raise ValidationError({"destination": "This destination is switched off."})
    active = destination.runs.filter(status__in=ACTIVE_STATUSES).first()
    if active is not None:
        return active, False
    latest = destination.runs.order_by("-period_end", "-id").first()
    wanted_start = since if since is not None else (EPOCH if full else None)
    if (
        latest is not None
        and latest.status == RunStatus.FAILED
        and (wanted_start is None or latest.period_start == wanted_start)
    ):
        run = latest
        run.status = RunStatus.PENDING
        run.error = ""
        run.finished_at = None
        run.rows_done = 0
        run.partitions_done = 0
        run.trigger = trigger
        run.requested_by = requested_by or run.requested_by
        run.full_clean()
        run.save()
    else:
        now = now or timezone.now()
        if full is None:
            full = destination.mode == ExportMode.FULL
        period_start = EPOCH
        if since is not None:
            full = False
            period_start = since
        elif not full:
            last_ok = (
                destination.runs.filter(status=RunStatus.SUCCEEDED).order_by("-period_end").first()
            )
            period_start = last_ok.period_end if last_ok else EPOCH
        if now <= period_start:
            raise ValidationError({"period": "The previous run ends in the future."})
        run = ExportRun(
            destination=destination,
            full=full,
            period_start=period_start,
            period_end=now,
            trigger=trigger,
            requested_by=requested_by,
        )
        run.full_clean()
        run.save()
    if dispatch:
        run_id = run.pk
        _enqueue(lambda: _queue().start_run(run_id))
    return run, True


# --- Planning: claim the run, snapshot consent, make partitions ---------------------------------


def _selection(run: ExportRun) -> sources.Selection:
    destination = run.destination
    return sources.Selection(
        scope=destination.consent_scope,
        registry_id=destination.registry_id,
        at=run.period_end,
        since=None if run.period_start == EPOCH else run.period_start,
        linkage=destination.is_linkage,
    )


def export_run_plan(
    *, run_id: int, partition_size: int | None = None, min_partitions: int = 1
) -> tuple[ExportRun, list[int]] | None:
    """Claim a pending (or resume a running) run; returns it and the partitions still to write.

    `min_partitions` makes partitions smaller where needed so that that many processes can
    share the work. None when another worker holds the run right now, or it is no longer active.
    """
    with transaction.atomic():
        run = (
            ExportRun.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("destination")
            .filter(pk=run_id, status__in=ACTIVE_STATUSES)
            .first()
        )
        if run is None:
            return None
        if run.status == RunStatus.PENDING:
            run.status = RunStatus.RUNNING
            run.started_at = timezone.now()
            run.attempts += 1
            run.partitions_total = 0
            run.partitions_done = 0
            run.rows_done = 0
            run.save()
        if not run.partitions.filter(attempt=run.attempts).exists():
            _plan(run, partition_size or run.destination.partition_size, min_partitions)
        pending = list(
            run.partitions.filter(attempt=run.attempts, status=PartitionStatus.PENDING)
            .order_by("index")
            .values_list("index", flat=True)
        )
    return run, pending


def _plan(run: ExportRun, partition_size: int, min_partitions: int = 1) -> None:
    selection = _selection(run)
    patient_ids = sources.consenting_patient_ids(selection=selection)
    # Files never depend on the partitioning, so it can follow the number of processes.
    partition_size = max(1, min(partition_size, -(-len(patient_ids) // max(1, min_partitions))))
    run.members.all().delete()
    ExportRunMember.objects.bulk_create(
        [ExportRunMember(run=run, patient_id=pid) for pid in patient_ids], batch_size=5000
    )
    partitions = []
    for index, start in enumerate(range(0, len(patient_ids), partition_size)):
        ids = patient_ids[start : start + partition_size]
        partitions.append(
            ExportPartition(
                run=run,
                attempt=run.attempts,
                index=index,
                first_patient_id=ids[0],
                last_patient_id=ids[-1],
                patients=len(ids),
                rows_total=sources.count_source_rows(patient_ids=ids, selection=selection),
            )
        )
    ExportPartition.objects.bulk_create(partitions)
    run.patients_total = len(patient_ids)
    run.withdrawals.all().delete()
    withdrawn = _withdrawn_ids(run)
    ExportRunWithdrawal.objects.bulk_create(
        [ExportRunWithdrawal(run=run, patient_id=pid) for pid in withdrawn], batch_size=5000
    )
    run.withdrawals_total = len(withdrawn)
    run.partitions_total = len(partitions)
    run.partitions_done = 0
    run.rows_total = sum(p.rows_total for p in partitions)
    run.rows_done = 0
    run.save()


def _withdrawn_ids(run: ExportRun) -> list[int]:
    """Patients an earlier successful run of the destination included who are not in this one
    (they withdrew, or were erased), and whose withdrawal the registry has not yet fetched.

    A withdrawal counts as fetched once the registry downloaded a run's withdrawal list (Bulk
    Data `deleted` or withdrawals.csv) made after the patient's last inclusion; until then every
    run lists it again, so a registry that skipped a run still learns of it (issue 11).
    """
    earlier = (
        ExportRunMember.objects.filter(
            run__destination_id=run.destination_id,
            run__status=RunStatus.SUCCEEDED,
            run__period_end__lt=run.period_end,
        )
        .exclude(patient_id__in=run.members.values("patient_id"))
        .values("patient_id")
        .annotate(last=Max("run__period_end"))
    )
    last_included = {row["patient_id"]: row["last"] for row in earlier}
    if not last_included:
        return []
    fetched = (
        ExportRunWithdrawal.objects.filter(
            run__destination_id=run.destination_id,
            patient_id__in=list(last_included),
            acknowledged_at__isnull=False,
        )
        .values("patient_id")
        .annotate(last=Max("run__period_end"))
    )
    told = {row["patient_id"] for row in fetched if row["last"] > last_included[row["patient_id"]]}
    return sorted(set(last_included) - told)


def export_withdrawals_fetched(*, run: ExportRun) -> int:
    """The registry fetched this run's withdrawal list: later runs stop listing these patients."""
    return run.withdrawals.filter(acknowledged_at__isnull=True).update(
        acknowledged_at=timezone.now()
    )


def export_run_dispatch(*, run_id: int) -> bool:
    """Plan a run and send its partitions out as a Celery group (or finalize a run whose
    partitions are all written). Partitions under another worker's live lease are left to it."""
    planned = export_run_plan(run_id=run_id)
    if planned is None:
        return False
    run, pending = planned
    if not pending:
        _queue().finalize_run(run.pk)
        return True
    free = list(
        run.partitions.filter(attempt=run.attempts, index__in=pending)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=Now()))
        .values_list("index", flat=True)
        .order_by("index")
    )
    if free:
        _queue().write_partitions(run.pk, run.attempts, free)
    return True


# --- Partitions ---------------------------------------------------------------------------------


def _progress_key(run_id: int, attempt: int, index: int) -> str:
    return f"registry_export:progress:{run_id}:{attempt}:{index}"


def _writers(run: ExportRun, files_dir: Path):
    destination = run.destination
    names: list[str] = []
    if destination.format_fhir:
        names += fhir_format.FILES
    if destination.format_redcap:
        names += redcap_format.FILES
    headers = {}
    if destination.format_redcap:
        headers[redcap_format.RECORDS_FILE] = redcap_format.header_bytes(
            linkage=destination.is_linkage
        )
    files = PartFiles(files_dir, names, headers)
    pseudonyms = pseudonymiser_for(destination)
    as_of = run.period_end.date()
    writers = []
    if destination.format_fhir:
        writers.append(
            fhir_format.FhirWriter(files, pseudonyms, as_of=as_of, linkage=destination.is_linkage)
        )
    if destination.format_redcap:
        writers.append(
            redcap_format.RedcapWriter(
                files, pseudonyms, as_of=as_of, linkage=destination.is_linkage
            )
        )
    return files, writers


class LeaseLost(Exception):
    """This worker's lease on a partition ran out and another worker took the partition over."""


def _lease_length() -> timedelta:
    return timedelta(seconds=settings.REGISTRY_EXPORT_LEASE_SECONDS)


class _Lease:
    """A worker's claim on one partition, renewed between patients (a patient takes
    milliseconds, the lease lasts minutes) by the database's clock, so that machines with
    different clocks agree on when it runs out."""

    def __init__(self, partition_pk: int, token: str) -> None:
        self.partition_pk = partition_pk
        self.token = token
        self.every = settings.REGISTRY_EXPORT_LEASE_SECONDS / 3
        self.due = time.monotonic() + self.every

    def _mine(self):
        return ExportPartition.objects.filter(
            pk=self.partition_pk, lease_owner=self.token, status=PartitionStatus.PENDING
        )

    def renew_if_due(self) -> None:
        if time.monotonic() < self.due:
            return
        if not self._mine().update(lease_expires_at=Now() + _lease_length()):
            raise LeaseLost(f"partition {self.partition_pk}")
        self.due = time.monotonic() + self.every

    def held(self) -> bool:
        return self._mine().exists()


def _partition_claim(
    *, run_id: int, attempt: int, index: int
) -> tuple[ExportPartition, _Lease] | None:
    """Take the partition for this worker: pending, of the run's current attempt, and nobody
    else's live lease on it. SELECT ... FOR UPDATE SKIP LOCKED: of two workers asking at once,
    one takes it and the other moves on, so two workers never both write one partition."""
    with transaction.atomic():
        partition = (
            ExportPartition.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("run__destination")
            .filter(
                Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=Now()),
                run_id=run_id,
                attempt=attempt,
                index=index,
                status=PartitionStatus.PENDING,
                run__status=RunStatus.RUNNING,
                run__attempts=attempt,
            )
            .first()
        )
        if partition is None:
            return None
        token = uuid.uuid4().hex
        ExportPartition.objects.filter(pk=partition.pk).update(
            lease_owner=token, lease_expires_at=Now() + _lease_length()
        )
    return partition, _Lease(partition.pk, token)


def export_partition_write(
    *,
    run_id: int,
    attempt: int,
    index: int,
    on_progress: Callable[[int], None] | None = None,
    enqueue_finalize: bool = True,
) -> bool:
    """Write one partition's part files; True if this call completed the partition.

    Returns False without writing when the partition is done, belongs to an older attempt, or
    is leased by another live worker; False too when this worker's lease ran out mid-write and
    another worker took the partition over (its output is thrown away: the other writes the
    same bytes). Raises on a real failure (the task marks the run failed).
    """
    claimed = _partition_claim(run_id=run_id, attempt=attempt, index=index)
    if claimed is None:
        return False
    partition, lease = claimed
    run = partition.run
    final = storage.partition_dir(run, attempt=attempt, index=index)
    # Whatever is beside it now was left by a worker whose lease ran out (killed or stalled).
    storage.remove_temporaries(final)
    tmp = storage.temp_sibling(final)
    try:
        with parallel.bulk_gc():
            summary, rows = _write_partition(run, partition, tmp, on_progress, lease)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, LeaseLost) or (isinstance(exc, Exception) and not _still_held(lease)):
            logger.warning("registry export run=%s partition=%s: lease lost", run_id, index)
            return False
        raise
    with transaction.atomic():
        # The lease is checked under the row lock: a writer whose lease was taken over
        # publishes nothing. Partition lock first, then the run's, always in that order.
        mine = (
            ExportPartition.objects.select_for_update(of=("self",))
            .filter(pk=partition.pk, lease_owner=lease.token, status=PartitionStatus.PENDING)
            .first()
        )
        if mine is None:
            shutil.rmtree(tmp, ignore_errors=True)
            logger.warning("registry export run=%s partition=%s: lease lost", run_id, index)
            return False
        run = ExportRun.objects.select_for_update().get(pk=run_id)
        if run.status != RunStatus.RUNNING or run.attempts != attempt:
            shutil.rmtree(tmp, ignore_errors=True)
            return False
        storage.publish(tmp, final)
        mine.status = PartitionStatus.DONE
        mine.parts = summary
        mine.rows_done = mine.rows_total
        mine.lease_owner = ""
        mine.lease_expires_at = None
        mine.save(update_fields=["status", "parts", "rows_done", "lease_owner", "lease_expires_at"])
        run.partitions_done += 1
        run.rows_done = min(run.rows_total, run.rows_done + mine.rows_total)
        run.save(update_fields=["partitions_done", "rows_done"])
        cache.delete(_progress_key(run_id, attempt, index))
        if enqueue_finalize and run.partitions_done >= run.partitions_total:
            transaction.on_commit(lambda: _queue().finalize_run(run_id))
        return True


def _still_held(lease: _Lease) -> bool:
    try:
        return lease.held()
    except Exception:
        return True  # the database is the problem: report the original error


def _write_partition(
    run: ExportRun,
    partition: ExportPartition,
    tmp: Path,
    on_progress,
    lease: _Lease | None = None,
):
    selection = _selection(run)
    patient_ids = list(
        run.members.filter(
            patient_id__gte=partition.first_patient_id, patient_id__lte=partition.last_patient_id
        )
        .order_by("patient_id")
        .values_list("patient_id", flat=True)
    )
    files, writers = _writers(run, tmp)
    key = _progress_key(run.pk, partition.attempt, partition.index)
    done = rows = 0
    try:
        for data in sources.iter_patient_data(patient_ids=patient_ids, selection=selection):
            for writer in writers:
                writer.write(data)
            done += 1
            rows += len(data.entries)
            if lease is not None:
                lease.renew_if_due()
            if done % PROGRESS_EVERY == 0:
                # Live progress in entries written (the unit of rows_total), for the pages.
                cache.set(key, rows, PROGRESS_TTL)
                if on_progress:
                    on_progress(PROGRESS_EVERY)
    except BaseException:
        files.abort()
        raise
    if on_progress and done % PROGRESS_EVERY:
        on_progress(done % PROGRESS_EVERY)
    return files.close(), rows


# --- Finalizing ---------------------------------------------------------------------------------


def export_run_finalize(*, run_id: int) -> bool:
    """Assemble the finished files and mark the run succeeded; True if this call did it."""
    with transaction.atomic():
        run = (
            ExportRun.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("destination")
            .filter(pk=run_id, status=RunStatus.RUNNING)
            .first()
        )
        if run is None:
            return False
        partitions = list(run.partitions.filter(attempt=run.attempts).order_by("index"))
        if any(p.status != PartitionStatus.DONE for p in partitions):
            return False
        final = storage.run_dir(run)
        storage.remove_temporaries(final)
        tmp = storage.temp_sibling(final)
        try:
            files = _assemble(run, partitions, tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        storage.publish(tmp, final)
        run.files = files
        run.status = RunStatus.SUCCEEDED
        run.finished_at = timezone.now()
        run.rows_done = run.rows_total
        run.full_clean()
        run.save()
        # Parts go only once the success is committed: a crash before leaves them for a retry.
        transaction.on_commit(lambda: storage.remove_run_files(run, keep_final=True))
    logger.info(
        "registry export run=%s destination=%s succeeded patients=%s",
        run.pk,
        run.destination_id,
        run.patients_total,
    )
    return True


def part_name(name: str, index: int) -> str:
    """The published name of partition `index`'s file `name`: Patient.ndjson of partition 3 is
    Patient.00003.ndjson. Several files of one type are allowed by the Bulk Data manifest."""
    stem, dot, suffix = name.partition(".")
    return f"{stem}.{index:05d}{dot}{suffix}"


def _move_part(partition: ExportPartition, source: Path, target: Path, name: str) -> dict:
    """Publish one partition's file in the run folder after checking it is the size its
    partition recorded (a cheap check that nothing was cut).

    A hard link: no byte is copied, and the part stays where it was until the success is
    committed, so a finalize killed half-way can simply be done again."""
    meta = partition.parts.get(name)
    try:
        size = source.stat().st_size
    except FileNotFoundError as exc:
        raise ExportError(f"Part file {name} of partition {partition.index} is missing.") from exc
    if meta is None or size != meta["bytes"]:
        raise ExportError(f"Part file {name} of partition {partition.index} is altered.")
    storage.link_or_copy(source, target)
    return {"sha256": meta["sha256"], "bytes": size}


def _assemble(run: ExportRun, partitions: list[ExportPartition], out: Path) -> list[dict]:
    destination = run.destination
    linkage = destination.is_linkage
    entries: list[dict] = []

    def add(name: str, fmt: str, meta: dict, count: int, **extra) -> None:
        entries.append({"name": name, "format": fmt, "count": count, **meta, **extra})

    outputs: list[tuple[str, str, str | None]] = []
    if destination.format_fhir:
        outputs += [(name, "fhir", rtype) for rtype, name in fhir_format.RESOURCE_FILES.items()]
    if destination.format_redcap:
        outputs.append((redcap_format.RECORDS_FILE, "redcap", None))
    # Partition by partition, each file renamed into place as its partition wrote it.
    for name, fmt, rtype in outputs:
        for p in partitions:
            count = p.parts.get(name, {}).get("count", 0)
            source = storage.partition_dir(run, attempt=p.attempt, index=p.index) / name
            if fmt == "fhir" and count == 0:
                continue  # Bulk Data lists no empty files
            published = part_name(name, p.index)
            meta = _move_part(p, source, out / published, name)
            extra = {"type": rtype} if rtype else {}
            add(published, fmt, meta, count, group=name, partition=p.index, **extra)
    if destination.format_redcap:
        # What REDCap needs to create the project: dictionary, repeating instruments, ODM XML.
        for name, data, count in redcap_format.project_files(linkage=linkage):
            (out / name).write_bytes(data)
            add(name, "redcap", _meta_of(out / name), count)
    if destination.format_fhir:
        # The Questionnaire and CodeSystem resources the local codes resolve to.
        for name, data, count, rtype in fhir_definitions.definition_files():
            (out / name).write_bytes(data)
            add(name, "fhir-definitions", _meta_of(out / name), count, type=rtype)
    withdrawn = _withdrawn_pseudonyms(run)
    data = b"pseudonym\r\n" + b"".join(f"{p}\r\n".encode() for p in withdrawn)
    (out / WITHDRAWALS_FILE).write_bytes(data)
    add(WITHDRAWALS_FILE, "csv", _meta_of(out / WITHDRAWALS_FILE), len(withdrawn))
    if destination.format_fhir and withdrawn:
        # Bulk Data `deleted`: one transaction Bundle of DELETE requests per withdrawn patient.
        data = b"".join(fhir_deleted_bundle(p) for p in withdrawn)
        (out / DELETED_FILE).write_bytes(data)
        add(
            DELETED_FILE,
            "fhir-deleted",
            _meta_of(out / DELETED_FILE),
            len(withdrawn),
            type="Bundle",
        )
    manifest = _manifest(run, entries)
    (out / MANIFEST_FILE).write_bytes(manifest)
    files = list(entries)
    meta = _meta_of(out / MANIFEST_FILE)
    files.append({"name": MANIFEST_FILE, "format": "json", "count": 1, **meta})
    return files


def fhir_deleted_bundle(pseudonym: str) -> bytes:
    """A Bulk Data `deleted` line: the registry deletes the patient (and with the patient, by
    its own rules, what refers to them)."""
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"request": {"method": "DELETE", "url": f"Patient/{pseudonym}"}}],
    }
    return (json.dumps(bundle, separators=(",", ":")) + "\n").encode()


def _meta_of(path: Path) -> dict:
    return {"sha256": storage.sha256_of(path), "bytes": path.stat().st_size}


def _withdrawn_pseudonyms(run: ExportRun) -> list[str]:
    pseudonyms = pseudonymiser_for(run.destination)
    # Sorted by pseudonym, so the order says nothing about internal ids.
    ids = run.withdrawals.values_list("patient_id", flat=True)
    return sorted(pseudonyms.patient(pid) for pid in ids)


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _manifest(run: ExportRun, files: list[dict]) -> bytes:
    destination = run.destination
    formats = {}
    if destination.format_fhir:
        formats["fhir"] = {
            "fhirVersion": fhir_format.FHIR_VERSION,
            "layout": "FHIR Bulk Data NDJSON, one resource type per file, one file per partition",
        }
    if destination.format_redcap:
        formats["redcap"] = {
            "version": redcap_format.REDCAP_FORMAT_VERSION,
            "layout": "REDCap flat CSV with repeating instruments, one records file per partition "
            "(each with the header row), plus data dictionary",
        }
    # Only facts of the run's definition, never of an attempt (no start or finish times), so
    # that a re-run writes the same bytes.
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "software": {"name": "sjogrens-diary", "version": software_version()},
        "formats": formats,
        "destination": {
            "id": str(destination.pk),
            "name": destination.name,
            "consent_scope": destination.consent_scope,
            "mode": destination.mode,
        },
        "run": {"id": str(run.public_id), "full": run.full},
        "period": {
            "start": None if run.period_start == EPOCH else _instant(run.period_start),
            "end": _instant(run.period_end),
        },
        "consent_snapshot_at": _instant(run.consent_snapshot_at),
        "patients": run.patients_total,
        "withdrawals": run.withdrawals_total,
        "files": files,
    }
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()


# --- Failure and recovery -----------------------------------------------------------------------


def export_run_fail(*, run_id: int, error: BaseException | str) -> None:
    """Record the error and remove every file of the run (nothing half-written stays)."""
    message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    with transaction.atomic():
        run = ExportRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status not in ACTIVE_STATUSES:
            return
        run.status = RunStatus.FAILED
        run.error = message[:2000]
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        transaction.on_commit(lambda: storage.remove_run_files(run, keep_final=False))
    logger.warning("registry export run=%s failed: %s", run_id, message.split(":", 1)[0])


def export_run_cancel(*, run_id: int, reason: str) -> bool:
    """Stop a queued or running run on purpose and remove its files; True if this call did.

    Workers check the run's status before and after each partition, so a partition being
    written is thrown away when it ends; finalize only takes a running run."""
    with transaction.atomic():
        run = ExportRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status not in ACTIVE_STATUSES:
            return False
        run.status = RunStatus.CANCELLED
        run.error = reason[:2000]
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        transaction.on_commit(lambda: storage.remove_run_files(run, keep_final=False))
    logger.info("registry export run=%s cancelled", run_id)
    return True


def export_runs_resume() -> int:
    """Re-dispatch every active run (at each worker's start, and beat every few minutes).
    Partitions under a live lease are left to their worker; the rest go out again (a copy of a
    task still queued finds its partition taken or done and does nothing)."""
    count = 0
    for run_id in ExportRun.objects.filter(status__in=ACTIVE_STATUSES).values_list("pk", flat=True):
        count += export_run_dispatch(run_id=run_id)
    return count


def export_runs_reclaim() -> int:
    """Hand the partitions of dead workers to live ones (every live worker, every half lease;
    see registry_export.tasks): each partition whose lease ran out is released and sent out
    again. Only the work of dead (or stalled) workers moves: a partition waiting in the queue
    has no lease yet, one being written has a live one. Returns how many were sent.

    Of two workers sweeping at once, SKIP LOCKED gives each expired partition to one of them,
    and releasing it means the next sweep leaves it alone until a worker claims it again."""
    sent = 0
    with transaction.atomic():
        stalled = list(
            ExportPartition.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                status=PartitionStatus.PENDING,
                lease_expires_at__lte=Now(),
                run__status=RunStatus.RUNNING,
                run__attempts=F("attempt"),
            )
            .order_by("run_id", "index")
            .values_list("pk", "run_id", "attempt", "index")
        )
        if stalled:
            ExportPartition.objects.filter(pk__in=[row[0] for row in stalled]).update(
                lease_owner="", lease_expires_at=None
            )
        by_run: dict[tuple[int, int], list[int]] = {}
        for _, run_id, attempt, index in stalled:
            by_run.setdefault((run_id, attempt), []).append(index)
        for (run_id, attempt), indexes in by_run.items():
            logger.warning(
                "registry export run=%s: partitions %s taken over after their lease ran out",
                run_id,
                indexes,
            )
            transaction.on_commit(
                lambda r=run_id, a=attempt, i=indexes: _queue().write_partitions(r, a, i)
            )
            sent += len(indexes)
    return sent


def export_run_live_rows(*, run: ExportRun) -> int:
    """Rows done including partitions still being written (their progress is in the cache)."""
    if run.status != RunStatus.RUNNING:
        return run.rows_done
    keys = [
        _progress_key(run.pk, run.attempts, i)
        for i in run.partitions.filter(
            attempt=run.attempts, status=PartitionStatus.PENDING
        ).values_list("index", flat=True)
    ]
    live = sum(v for v in cache.get_many(keys).values() if isinstance(v, int)) if keys else 0
    return min(run.rows_total, run.rows_done + live)


# --- In the foreground (the export_run command, the benchmark) ---------------------------------


def export_run_foreground(
    *,
    run: ExportRun,
    partition_size: int | None = None,
    workers: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_planned: Callable[[ExportRun], None] | None = None,
) -> ExportRun:
    """Do the whole run from this process, through the same steps a worker takes.

    With `workers` > 1 (default settings.REGISTRY_EXPORT_WORKERS) the partitions are written
    by that many child processes, as a Celery group would on that many workers.
    """
    workers = foreground_workers(workers)
    planned = export_run_plan(run_id=run.pk, partition_size=partition_size, min_partitions=workers)
    if planned is None:
        raise ExportError(f"Run {run.pk} is being worked on elsewhere or is no longer active.")
    run, pending = planned
    if on_planned:
        on_planned(run)
    try:
        if workers > 1 and len(pending) > 1:
            parallel.write_partitions(
                run_id=run.pk,
                attempt=run.attempts,
                indexes=pending,
                workers=workers,
                write=export_partition_write,
                on_progress=on_progress,
            )
        else:
            for index in pending:
                export_partition_write(
                    run_id=run.pk,
                    attempt=run.attempts,
                    index=index,
                    on_progress=on_progress,
                    enqueue_finalize=False,
                )
        if not export_run_finalize(run_id=run.pk):
            raise ExportError(f"Run {run.pk} could not be finished: a partition is missing.")
    except Exception as exc:
        export_run_fail(run_id=run.pk, error=exc)
        raise
    return ExportRun.objects.select_related("destination").get(pk=run.pk)


def foreground_workers(requested: int | None = None) -> int:
    """How many processes a foreground run uses. One on SQLite (a single-writer file) and inside
    a transaction (other processes could not see its rows)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    wanted = settings.REGISTRY_EXPORT_WORKERS if requested is None else requested
    return max(1, int(wanted))


def run_folder(run: ExportRun) -> Path:
    return storage.run_dir(run)


def export_root() -> Path:
    return Path(settings.REGISTRY_EXPORT_ROOT)
