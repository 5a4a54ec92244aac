"""Bulk Data export jobs: a kick-off asks for an export run of the client's destination; the
run itself is the ordinary Celery run (partitions on any worker). Reads and writes of jobs live
here so that the views stay thin.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.request_limits import JsonTooDeep, json_loads
from registry_export import selectors, services, storage
from registry_export.bulk.auth import Access, exported_types
from registry_export.formats import fhir as fhir_format
from registry_export.models import (
    EPOCH,
    BulkExportJob,
    Destination,
    RunStatus,
    RunTrigger,
)

RETRY_AFTER_SECONDS = 2
OUTPUT_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
SUPPORTED_PARAMETERS = ("_type", "_since", "_outputFormat")
# A FHIR instant: date, time to the second (fraction optional) and a zone (FHIR R4 datatypes).
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


class BulkError(Exception):
    """A refused Bulk Data request: its HTTP status, OperationOutcome code and message."""

    def __init__(self, status: int, message: str, code: str = "invalid", headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers = headers or {}


# Served by registry_export.bulk.definition_views (read by id, search by canonical url).
DEFINITION_TYPES = ("Questionnaire", "CodeSystem")


def _definition_resource(resource_type: str) -> dict:
    """A CapabilityStatement.rest.resource for a definition type (FHIR R4 section 2.40): the
    read and search-type interactions, and the one search parameter the server honours."""
    return {
        "type": resource_type,
        "documentation": "The project's own definitions, which the codes and questionnaire "
        "URLs of every export resolve to. Public: they hold no patient data.",
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [
            {
                "name": "url",
                "definition": f"http://hl7.org/fhir/SearchParameter/{resource_type}-url",
                "type": "uri",
            }
        ],
    }


def capability_statement(*, base: str) -> dict:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-01",
        "kind": "instance",
        "software": {"name": "sjogrens-diary", "version": services.software_version()},
        "implementation": {"description": "My Sjögren's Diary registry export", "url": base},
        "fhirVersion": fhir_format.FHIR_VERSION,
        "format": ["application/fhir+json"],
        "instantiates": ["http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "description": "SMART Backend Services (client credentials, private_key_jwt)",
                },
                "resource": [
                    {
                        "type": "Group",
                        "operation": [
                            {
                                "name": "export",
                                "definition": "http://hl7.org/fhir/uv/bulkdata/"
                                "OperationDefinition/group-export",
                            }
                        ],
                    },
                    # The types an export holds (clients such as smart-fetch read them here).
                    *({"type": rtype} for rtype in exported_types()),
                    # The project's own definitions, served at their canonical URLs.
                    *(_definition_resource(rtype) for rtype in DEFINITION_TYPES),
                ],
                "operation": [
                    {
                        "name": "export",
                        "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/"
                        "group-export",
                    }
                ],
            }
        ],
    }


# --- Kick-off -------------------------------------------------------------------------------------


def check_kickoff_headers(request) -> None:
    accept = request.headers.get("Accept", "")
    if "application/fhir+json" not in accept:
        raise BulkError(400, "The kick-off request needs Accept: application/fhir+json.")
    prefer = [p.strip() for p in request.headers.get("Prefer", "").split(",")]
    if "respond-async" not in prefer:
        raise BulkError(400, "The kick-off request needs Prefer: respond-async.")


def parameters_from_body(body: bytes) -> list[tuple[str, str]]:
    """(name, value) pairs of a FHIR Parameters kick-off body."""
    try:
        data = json_loads(body or b"{}")
    except JsonTooDeep as exc:
        raise BulkError(400, str(exc)) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise BulkError(400, "The body is not JSON; send a FHIR Parameters resource.") from exc
    if not isinstance(data, dict) or data.get("resourceType") != "Parameters":
        raise BulkError(400, "The body must be a FHIR Parameters resource.")
    pairs = []
    for item in data.get("parameter") or []:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise BulkError(400, "Each parameter needs a name.")
        values = [v for k, v in item.items() if k.startswith("value")]
        if len(values) != 1 or not isinstance(values[0], str):
            raise BulkError(400, f"Parameter {item['name']} needs one string-like value.")
        pairs.append((item["name"], values[0]))
    return pairs


@dataclass(frozen=True)
class Request:
    types: list[str]
    since: datetime | None
    output_format: str


def parse_parameters(params: list[tuple[str, str]], access: Access) -> Request:
    types: list[str] = []
    since = None
    output_format = "application/fhir+ndjson"
    for name, value in params:
        if name not in SUPPORTED_PARAMETERS:
            raise BulkError(
                400,
                f"Parameter {name} is not supported; this server takes "
                f"{', '.join(SUPPORTED_PARAMETERS)}.",
                "not-supported",
            )
        if name == "_outputFormat":
            if value not in OUTPUT_FORMATS:
                raise BulkError(
                    400,
                    f"_outputFormat {value!r} is not supported; use {', '.join(OUTPUT_FORMATS)}.",
                    "not-supported",
                )
            output_format = value
        elif name == "_since":
            since = parse_instant(value)
        else:
            types += [t.strip() for t in value.split(",") if t.strip()]
    known = exported_types()
    unknown = sorted(set(types) - set(known))
    if unknown:
        raise BulkError(
            400,
            f"_type {', '.join(unknown)} is not exported; this server exports {', '.join(known)}.",
            "not-supported",
        )
    not_granted = sorted(set(types) - access.types)
    if not_granted:
        raise BulkError(403, f"The access token's scope does not cover {', '.join(not_granted)}.",
                        "forbidden")  # fmt: skip
    chosen = [t for t in known if t in (set(types) or access.types)]
    return Request(chosen, since, output_format)


def parse_instant(value: str) -> datetime:
    if not INSTANT.match(value):
        raise BulkError(400, f"_since {value!r} is not a FHIR instant (like 2026-01-31T12:00:00Z).")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BulkError(400, f"_since {value!r} is not a valid date and time.") from exc
    if moment > timezone.now():
        raise BulkError(400, f"_since {value!r} is in the future.")
    return moment.astimezone(UTC)


@transaction.atomic
def job_start(
    *, access: Access, group: str, params: list[tuple[str, str]], request_url: str
) -> BulkExportJob:
    destination = Destination.objects.filter(name=group, is_active=True).first()
    if destination is None or destination.pk != access.client.destination_id:
        # Unknown and not-yours read the same: a client learns nothing of other destinations.
        raise BulkError(404, f"No group {group!r} is available to this client.", "not-found")
    if not destination.format_fhir:
        raise BulkError(400, f"Group {group!r} is not exported as FHIR.", "not-supported")
    wanted = parse_parameters(params, access)
    try:
        run, _created = services.export_run_request(
            destination=destination,
            trigger=RunTrigger.BULK,
            full=wanted.since is None,
            since=wanted.since,
        )
    except ValidationError as exc:
        raise BulkError(400, " ".join(exc.messages)) from exc
    start = wanted.since or EPOCH
    if run.period_start != start:
        # One run of a destination at a time: another export with other parameters is running.
        raise BulkError(
            429,
            "Another export of this group is running; try again when it has finished.",
            "throttled",
            {"Retry-After": "30"},
        )
    job = BulkExportJob(
        client=access.client,
        run=run,
        request_url=request_url[:4000],
        types=wanted.types,
        since=wanted.since,
        output_format=wanted.output_format,
    )
    job.full_clean()
    job.save()
    return job


# --- Status, manifest, files, cancel ------------------------------------------------------------


def job_for(*, access: Access, job_id) -> BulkExportJob:
    """The client's own job; another client's (or a cancelled) job reads as not found."""
    job = (
        BulkExportJob.objects.select_related("run__destination")
        .filter(pk=job_id, client=access.client, cancelled_at__isnull=True)
        .first()
    )
    if job is None:
        raise BulkError(404, "No export job of this client has this status URL.", "not-found")
    return job


@dataclass(frozen=True)
class State:
    running: bool
    failed: bool
    progress: str = ""
    error: str = ""


def job_state(*, job: BulkExportJob) -> State:
    run = job.run
    if run.is_active:
        p = selectors.run_progress(run=run)
        return State(True, False, f"{p.percent}% ({p.rows_done} of {p.rows_total} rows)")
    if run.status == RunStatus.FAILED:
        return State(False, True, error=f"The export failed: {run.error or 'unknown error'}")
    if run.status == RunStatus.CANCELLED:
        return State(False, True, error=f"The export was cancelled: {run.error}")
    _still_served(job)
    return State(False, False)


def _still_served(job: BulkExportJob) -> None:
    try:
        selectors.run_check_still_served(run=job.run)
    except selectors.RunWithdrawn as exc:
        raise BulkError(410, str(exc.detail), "deleted") from exc


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def manifest(*, job: BulkExportJob, file_url: Callable[[str], str]) -> dict:
    """The Bulk Data complete-status body: one entry per file (several per type)."""
    run = job.run
    output, deleted = [], []
    for f in run.files:
        if f["format"] == "fhir" and f.get("type") in job.types:
            output.append({"type": f["type"], "url": file_url(f["name"]), "count": f["count"]})
        elif f["format"] == "fhir-deleted":
            deleted.append({"type": "Bundle", "url": file_url(f["name"]), "count": f["count"]})
    return {
        "transactionTime": _instant(run.period_end),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": output,
        "deleted": deleted,
        "error": [],
    }


def job_file(*, job: BulkExportJob, name: str) -> tuple[Path, list[int]]:
    run = job.run
    if run.is_active:
        raise BulkError(
            409, "The export is not finished yet; poll the status URL until it is complete.",
            "incomplete",
        )  # fmt: skip
    if run.status != RunStatus.SUCCEEDED:
        state = "was cancelled" if run.status == RunStatus.CANCELLED else "failed"
        raise BulkError(409, f"The export {state}, so it has no files.", "incomplete")
    entry = next((f for f in run.files if f["name"] == name), None)
    listed = entry is not None and (
        (entry["format"] == "fhir" and entry.get("type") in job.types)
        or entry["format"] == "fhir-deleted"
    )
    if not listed:
        raise BulkError(404, f"This export job has no file {name!r}.", "not-found")
    _still_served(job)
    path = storage.run_dir(run) / name
    if not path.is_file():
        raise BulkError(404, f"The file {name!r} is no longer stored.", "not-found")
    if entry["format"] == "fhir-deleted":
        services.export_withdrawals_fetched(run=run)
        return path, []
    return path, selectors.run_patient_ids(run=run)


@transaction.atomic
def job_cancel(*, job: BulkExportJob) -> None:
    """DELETE on the status URL: a running export is stopped and its files removed; a finished
    one stops being served to this job (the run's files stay for the researcher pages)."""
    job.cancelled_at = timezone.now()
    job.save(update_fields=["cancelled_at"])
    if job.run.is_active:
        services.export_run_cancel(
            run_id=job.run_id, reason=f"Cancelled by Bulk Data client {job.client.name}."
        )
