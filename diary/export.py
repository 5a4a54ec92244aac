"""'Download all my data': a zip of JSON, CSV and a FHIR R4 Bundle of the patient's own diary.

The archive is built in memory: one patient's diary is small (five years of days is well under a
megabyte), and nothing is written to local disk (DESIGN.md section 1).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils import timezone

from diary import selectors
from diary.fhir import FHIR_BASE, fhir_bundle
from diary.fields import ENTRY_FIELDS

FORMAT_VERSION = "2"


@dataclass
class ExportPart:
    """What another app adds to the patient's own export (consent history and access log,
    radiographs and their scores): the diary cannot import those apps (DESIGN.md section 1), so
    they register a provider in EXPORT_PARTS from their AppConfig.ready(), as with
    ERASURE_HOOKS. Each provider reads only the given patient's own records."""

    key: str  # its section of diary.json
    data: dict
    csv_files: dict[str, str] = field(default_factory=dict)  # file name -> CSV text
    files: dict[str, bytes] = field(default_factory=dict)  # path in the zip -> bytes
    fhir_resources: list[dict] = field(default_factory=list)  # added to the FHIR Bundle
    readme: str = ""  # lines for README.txt


EXPORT_PARTS: list[Callable[..., ExportPart]] = []


def csv_text(rows: list[dict], columns: list[str]) -> str:
    """CSV of JSON-ready rows (lists and dicts as JSON text), for export parts."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: json.dumps(v, ensure_ascii=False, sort_keys=True)
                if isinstance(v, list | dict)
                else v
                for k, v in row.items()
            }
        )
    return out.getvalue()


def _iso(value):
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _entry_row(entry) -> dict:
    row = {"date": entry.date.isoformat(), **entry.values()}
    row["amended_at"] = _iso(entry.amended_at)
    return row


def _medicine_row(med) -> dict:
    return {
        "id": str(med.id),
        "name": med.name,
        "dose": med.dose,
        "unit": med.unit,
        "schedule": med.schedule,
        "start_date": _iso(med.start_date),
        "end_date": _iso(med.end_date),
        "history": [
            {"date": h.date.isoformat(), "dose": h.dose, "unit": h.unit, "schedule": h.schedule}
            for h in med.history
        ],
    }


def _dose_row(log) -> dict:
    return {
        "medicine_id": str(log.medicine_id),
        "date": log.date.isoformat(),
        "slot": log.slot,
        "status": log.status,
    }


def _questionnaire_row(q) -> dict:
    return {
        "id": str(q.id),
        "instrument": q.instrument,
        "score": q.score,
        "period_start": _iso(q.period_start),
        "period_end": _iso(q.period_end),
        "completed_at": _iso(q.completed_at),
        "answers": q.answers,
    }


def export_data(*, patient) -> dict:
    """Everything the diary holds about a patient, decrypted, as plain JSON-ready data."""
    entries = selectors.entries_between(patient=patient, date_from=None, date_to=None)
    medicines = selectors.medicines_for(patient=patient)
    doses = selectors.dose_logs_between(patient=patient, date_from=date.min, date_to=date.max)
    questionnaires = selectors.questionnaires_between(patient=patient, date_from=None, date_to=None)
    return {
        "format_version": FORMAT_VERSION,
        "exported_at": timezone.now().isoformat(),
        "account": {
            "email": patient.email,
            "display_name": patient.display_name,
            "time_zone": patient.time_zone,
            "birth_year": getattr(patient, "birth_year", None),
            "text_size": getattr(patient, "text_size", None),
            "date_joined": _iso(patient.date_joined),
        },
        "entries": [_entry_row(e) for e in entries],
        "medicines": [_medicine_row(m) for m in medicines],
        "doses": [_dose_row(d) for d in doses],
        "questionnaires": [_questionnaire_row(q) for q in questionnaires],
        "_views": {"entries": entries, "medicines": medicines, "questionnaires": questionnaires},
    }


def _csv(rows: list[dict], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        flat = {
            k: ";".join(v) if isinstance(v, list) and k == "factors" else v for k, v in row.items()
        }
        if "answers" in flat:
            flat["answers"] = json.dumps(flat["answers"], ensure_ascii=False, sort_keys=True)
        writer.writerow(flat)
    return out.getvalue()


def build_export_zip(*, patient) -> bytes:
    data = export_data(patient=patient)
    views = data.pop("_views")
    bundle = fhir_bundle(patient=patient, **views)
    parts = [provider(patient=patient) for provider in EXPORT_PARTS]
    for part in parts:
        data[part.key] = part.data
        bundle["entry"] += [
            {"fullUrl": f"{FHIR_BASE}{r['resourceType']}/{r['id']}", "resource": r}
            for r in part.fhir_resources
        ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("diary.json", json.dumps(data, ensure_ascii=False, indent=2))
        archive.writestr(
            "entries.csv", _csv(data["entries"], ["date", *ENTRY_FIELDS, "amended_at"])
        )
        archive.writestr(
            "medicines.csv",
            _csv(
                data["medicines"],
                ["id", "name", "dose", "unit", "schedule", "start_date", "end_date"],
            ),
        )
        archive.writestr(
            "doses.csv", _csv(data["doses"], ["medicine_id", "date", "slot", "status"])
        )
        archive.writestr(
            "questionnaires.csv",
            _csv(
                data["questionnaires"],
                [
                    "id",
                    "instrument",
                    "score",
                    "period_start",
                    "period_end",
                    "completed_at",
                    "answers",
                ],
            ),
        )
        for part in parts:
            for name, text in part.csv_files.items():
                archive.writestr(name, text)
            for name, content in part.files.items():
                archive.writestr(name, content)
        archive.writestr("fhir_bundle.json", json.dumps(bundle, ensure_ascii=False, indent=2))
        archive.writestr("README.txt", _README + "".join(part.readme for part in parts))
    return buffer.getvalue()


_README = """My Sjögren's Diary: all your data

diary.json          everything in one file (entries, medicines, doses, questionnaires)
entries.csv         one row per day (scores 0-10, flare, factors separated by ';', note)
medicines.csv       your medicines; doses.csv: each recorded dose (taken, missed, skipped)
questionnaires.csv  questionnaire answers and scores
fhir_bundle.json    the same data as an HL7 FHIR R4 Bundle, for other health software
"""
