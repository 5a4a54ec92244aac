"""Reads of the registry export that apply permissions (the requesting user comes first).

A researcher sees only the destinations staff allowed them on, their runs and files, and
aggregates over consenting patients with small cells suppressed (DESIGN.md section 2).
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from django.core.cache import cache
from django.db.models import Count, Max, Min, QuerySet
from django.http import Http404
from django.utils import timezone
from rest_framework.exceptions import APIException

from accounts.models import Role, User
from registry_export import services, storage
from registry_export.models import (
    BulkClient,
    ConsentScope,
    Destination,
    ExportPartition,
    ExportRun,
    ExportRunWithdrawal,
    RunStatus,
)
from registry_export.pseudonyms import pseudonymiser_for

# Cells describing fewer patients than this are suppressed (DESIGN.md section 2).
SMALL_CELL = 5
COHORT_CACHE_SECONDS = 600


class RunNotDownloadable(APIException):
    status_code = 409
    default_code = "run_not_finished"


class RunWithdrawn(APIException):
    """A finished run holding data of a patient who has since withdrawn: no longer served."""

    status_code = 410
    default_code = "run_withdrawn"


def run_withdrawn_since(*, run: ExportRun) -> int:
    """How many patients of a run have withdrawn (or been erased) since it was made.

    Such a run is no longer served, to anyone (issue 11, our choice of the two): the registry
    gets a later run, which lists those patients as deleted."""
    selection = services.sources.Selection(
        scope=run.destination.consent_scope,
        registry_id=run.destination.registry_id,
        at=timezone.now(),
        since=None,
        linkage=run.destination.is_linkage,
    )
    consenting = set(services.sources.consenting_patient_ids(selection=selection))
    members = run.members.values_list("patient_id", flat=True)
    return sum(1 for pid in members.iterator(chunk_size=5000) if pid not in consenting)


def run_check_still_served(*, run: ExportRun) -> None:
    gone = run_withdrawn_since(run=run)
    if gone:
        raise RunWithdrawn(
            f"Run {run.label} is no longer available: {gone} patient(s) in it have withdrawn their "
            "consent since it was made, so its files are not served any more. Request a new "
            "export: it leaves them out and lists them as deleted."
        )


def _is_researcher(user: User) -> bool:
    return bool(user and user.is_authenticated and user.role == Role.RESEARCHER)


def destinations_for(*, user: User) -> QuerySet[Destination]:
    if not _is_researcher(user):
        return Destination.objects.none()
    return Destination.objects.filter(researchers=user, is_active=True).order_by("name")


def destination_for(*, user: User, destination_id) -> Destination:
    """A destination the user may use, or Http404 (which does not say whether it exists)."""
    try:
        return destinations_for(user=user).get(pk=destination_id)
    except (Destination.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No export destination you are allowed to use has this id.") from exc


def runs_for(*, user: User, destination: Destination | None = None) -> QuerySet[ExportRun]:
    runs = ExportRun.objects.filter(destination__in=destinations_for(user=user)).select_related(
        "destination"
    )
    if destination is not None:
        runs = runs.filter(destination=destination)
    return runs.order_by("-created_at", "-id")


def run_for(*, user: User, run_id) -> ExportRun:
    try:
        return runs_for(user=user).get(public_id=run_id)
    except (ExportRun.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No export run you are allowed to see has this id.") from exc


@dataclass(frozen=True)
class Progress:
    status: str
    rows_done: int
    rows_total: int

    @property
    def percent(self) -> int:
        if self.status == RunStatus.SUCCEEDED:
            return 100
        if not self.rows_total:
            return 0
        return int(100 * self.rows_done / self.rows_total)


def run_progress(*, run: ExportRun) -> Progress:
    return Progress(
        status=run.status,
        rows_done=services.export_run_live_rows(run=run),
        rows_total=run.rows_total,
    )


def run_check_downloadable(*, run: ExportRun) -> None:
    """409 unless the run has succeeded, saying why in the run's own terms."""
    if run.status == RunStatus.SUCCEEDED:
        return
    if run.status == RunStatus.FAILED:
        message = f"Run {run.label} failed, so it has no files. Start it again to retry."
    elif run.status == RunStatus.CANCELLED:
        message = f"Run {run.label} was cancelled, so it has no files. Start a new run."
    else:
        message = (
            f"Run {run.label} is not finished yet: files can be downloaded once it has succeeded."
        )
    raise RunNotDownloadable(message)


def run_file(*, user: User, run_id, name: str) -> tuple[ExportRun, Path]:
    """The path of a finished run's file, for download. 404 for a run the user may not see or
    a file the run does not have; 409 while the run is not (or not successfully) finished."""
    run = run_for(user=user, run_id=run_id)
    run_check_downloadable(run=run)
    if name not in run.file_names:
        raise Http404(f"Run {run.label} has no file named {name!r}.")
    run_check_still_served(run=run)
    path = storage.run_dir(run) / name
    if not path.is_file():
        raise Http404(f"The file {name!r} of run {run.pk} is no longer stored.")
    return run, path


def run_patient_ids(*, run: ExportRun) -> list[int]:
    """The patients a run's files describe (for the access log of a download)."""
    return list(run.members.order_by("patient_id").values_list("patient_id", flat=True))


# --- Cohort aggregates ------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """An aggregate over `patients` patients; `value` is None when suppressed."""

    label: str
    # None when suppressed: a small count is itself disclosive.
    patients: int | None
    value: float | None

    @property
    def suppressed(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class Cohort:
    consenting: int | None
    with_entries: int | None
    esspri_by_month: list[Cell]
    flare_rate_by_month: list[Cell]
    small_cell: int = SMALL_CELL


def _cell(label: str, patients: int, value: float) -> Cell:
    if patients < SMALL_CELL:
        return Cell(label=label, patients=None, value=None)
    return Cell(label=label, patients=patients, value=value)


def _count(n: int) -> int | None:
    return n if n >= SMALL_CELL else None


def cohort_patient_ids(*, user: User) -> list[int]:
    """Patients consenting now to registry sharing with a registry of the user's destinations."""
    from consent.models import Registry

    registries = Registry.objects.filter(
        export_destinations__in=destinations_for(user=user).filter(
            consent_scope=ConsentScope.REGISTRY_SHARING
        )
    ).distinct()
    ids: set[int] = set()
    now = timezone.now()
    for registry in registries:
        selection = services.sources.Selection(
            scope=ConsentScope.REGISTRY_SHARING,
            registry_id=registry.pk,
            at=now,
            since=None,
            linkage=False,
        )
        ids.update(services.sources.consenting_patient_ids(selection=selection))
    return sorted(ids)


def cohort_for(*, user: User) -> Cohort:
    """Counts, mean ESSPRI by month and flare rate by month over consenting patients only.

    Cached briefly per set of patients (aggregates only, no patient data), so a page reload does
    not decrypt the cohort again."""
    patient_ids = cohort_patient_ids(user=user)
    digest = hashlib.sha256(",".join(map(str, patient_ids)).encode()).hexdigest()
    key = f"registry_export:cohort:{digest}"
    found = cache.get(key)
    if found is None:
        found = _cohort(patient_ids)
        cache.set(key, found, COHORT_CACHE_SECONDS)
    return found


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _cohort(patient_ids: list[int]) -> Cohort:
    from diary import selectors as diary_selectors

    entries: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    entry_patients: dict[str, set[int]] = defaultdict(set)
    with_entries: set[int] = set()
    for chunk in diary_selectors.iter_entry_chunks(patient_ids=patient_ids):
        for view in chunk:
            month = _month(view.date)
            entries[month][0] += 1
            entries[month][1] += 1 if view.flare else 0
            entry_patients[month].add(view.patient_id)
            with_entries.add(view.patient_id)
    esspri: dict[str, list[float]] = defaultdict(list)
    esspri_patients: dict[str, set[int]] = defaultdict(set)
    for pid in patient_ids:
        for q in diary_selectors.questionnaires_between(
            patient=User(pk=pid), date_from=None, date_to=None, instrument="esspri"
        ):
            if q.score is None:
                continue
            month = _month(q.period_end)
            esspri[month].append(float(q.score))
            esspri_patients[month].add(pid)
    esspri_cells = [
        _cell(month, len(esspri_patients[month]), round(sum(v) / len(v), 2))
        for month, v in sorted(esspri.items())
    ]
    flare_cells = [
        _cell(month, len(entry_patients[month]), round(100 * flares / total, 1))
        for month, (total, flares) in sorted(entries.items())
    ]
    return Cohort(
        consenting=_count(len(patient_ids)),
        with_entries=_count(len(with_entries)),
        esspri_by_month=esspri_cells,
        flare_rate_by_month=flare_cells,
    )


# --- Researcher pages: backend clients, partitions, withdrawal lists --------------------------


def clients_for(*, user: User) -> QuerySet[BulkClient]:
    """Backend (Bulk Data) clients of the user's destinations, revoked ones too."""
    return (
        BulkClient.objects.filter(destination__in=destinations_for(user=user))
        .select_related("destination")
        .order_by("destination__name", "-is_active", "name")
    )


def client_for(*, user: User, client_pk) -> BulkClient:
    try:
        return clients_for(user=user).get(public_id=client_pk)
    except (BulkClient.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No backend client of a destination you may use has this id.") from exc


def client_destinations_for(*, user: User) -> QuerySet[Destination]:
    """Destinations a researcher may register a backend client for (those exporting FHIR)."""
    return destinations_for(user=user).filter(format_fhir=True)


def run_partitions(*, run: ExportRun) -> list[ExportPartition]:
    """The partitions of the run's current attempt, in order."""
    return list(run.partitions.filter(attempt=run.attempts).order_by("index"))


@dataclass(frozen=True)
class WithdrawalListed:
    """A pseudonym the destination's runs list as deleted, and whether the registry has
    fetched a run that lists it (Bulk Data `deleted`, or withdrawals.csv)."""

    pseudonym: str
    first_run: uuid.UUID  # public ids: pages link and name runs by these
    last_run: uuid.UUID
    runs: int
    fetched_at: datetime | None


def withdrawals_for(*, user: User, destination: Destination) -> list[WithdrawalListed]:
    """Every patient a run of this destination listed as withdrawn, by pseudonym only (never
    an internal id), newest listing first."""
    if not destinations_for(user=user).filter(pk=destination.pk).exists():
        raise Http404("No export destination you are allowed to use has this id.")
    rows = (
        ExportRunWithdrawal.objects.filter(run__destination=destination)
        .values("patient_id")
        .annotate(
            first=Min("run_id"),
            last=Max("run_id"),
            runs=Count("run_id"),
            fetched=Max("acknowledged_at"),
        )
    )
    pseudonyms = pseudonymiser_for(destination)
    listed = [(pseudonyms.patient(row["patient_id"]), row) for row in rows]
    # Newest first; the pseudonym breaks ties, so the order says nothing about internal ids.
    listed.sort(key=lambda item: (-item[1]["last"], item[0]))
    run_pks = {row[end] for _, row in listed for end in ("first", "last")}
    public = dict(ExportRun.objects.filter(pk__in=run_pks).values_list("pk", "public_id"))
    return [
        WithdrawalListed(
            pseudonym=pseudonym,
            first_run=public[row["first"]],
            last_run=public[row["last"]],
            runs=row["runs"],
            fetched_at=row["fetched"],
        )
        for pseudonym, row in listed
    ]


def run_zip_members(*, user: User, run_id) -> tuple[ExportRun, list[tuple[str, Path, int]]]:
    """A finished run's files (name, path, size) for one zip, manifest.json included.

    404 for a run the user may not see, 409 unless it succeeded, 410 once a patient in it
    has withdrawn, 404 if a file is no longer stored."""
    run = run_for(user=user, run_id=run_id)
    run_check_downloadable(run=run)
    run_check_still_served(run=run)
    folder = storage.run_dir(run)
    members = []
    for f in run.files:
        path = folder / f["name"]
        if not path.is_file():
            raise Http404(f"The file {f['name']!r} of run {run.pk} is no longer stored.")
        members.append((f["name"], path, f["bytes"]))
    return run, members
