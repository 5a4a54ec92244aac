"""A pg_dump of the database reveals no health value (issue 16).

test_canary.py scans text, bytea and JSON columns for a planted string; health values such as
a flare flag, a dose status or a questionnaire score are booleans, short words and numbers, which
no string scan finds. So this test plants recognisable values through the real services, dumps
the committed database with pg_dump, as an attacker with a backup would have it, and checks
that (1) the planted values do not appear and (2) the tables holding patient health data have
no clear column beyond ids, dates, record types, workflow states and sealed blobs: a new clear
column there fails here until it is sealed or deliberately allowed (docs/hardening.md).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from django.db import connection

from diary import selectors, services
from diary.selectors import patient_today
from imaging import services as imaging_services
from imaging.joints import JOINTS
from imaging.models import JointReview, RaReview, Result
from tests.diary.conftest import day_values
from tests.imaging.review_helpers import make_result

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("pg_dump") is None, reason="needs the pg_dump client"),
]

# Scores nobody's ESSPRI or OSDI would land on by chance, so their text is unmistakable; the
# same for an imaging model's RA probability and a joint's confidence.
PLANTED_ESSPRI = 7.0390625
PLANTED_OSDI = 61.71875
PLANTED_RA_PROBABILITY = 0.8046875
PLANTED_JOINT_CONFIDENCE = 0.9140625

# Table -> the only columns it may keep in clear. Anything else in these tables must be inside
# a sealed payload. Why each clear column is safe is in docs/hardening.md, "What stays clear".
ALLOWED_CLEAR = {
    "diary_dailyentry": {
        "id", "public_id", "patient_id", "date", "payload", "created_at", "updated_at",
        "amended_at",
    },
    "diary_doselog": {"id", "public_id", "medicine_id", "date", "slot", "payload", "recorded_at"},
    "diary_questionnaireresponse": {
        "id", "public_id", "patient_id", "instrument", "payload", "period_start", "period_end",
        "completed_at",
    },
    "diary_medicine": {
        "id", "public_id", "patient_id", "payload", "start_date", "end_date", "created_at",
        "updated_at",
    },
    # Imaging: workflow (status, needs_review, review_reason, error), the bundle used and the
    # sealed files stay clear; every score, grade and confidence is a sealed column (bytea).
    "imaging_result": {
        "id", "public_id", "study_id", "bundle_id", "bundle_name", "bundle_version", "pipeline",
        "status", "needs_review", "review_reason", "overlay_blob", "error", "created_at",
        "started_at", "finished_at", "scores", "joint_scores", "confidence",
    },
    "imaging_jointreview": {
        "id", "public_id", "result_id", "review_id", "joint", "action", "reviewed_by_id",
        "reviewed_at", "model_jsn", "model_erosion", "model_confidence", "model_abstained", "jsn",
        "erosion",
    },
    "imaging_rareview": {
        "id", "public_id", "result_id", "review_id", "action", "reviewed_by_id", "reviewed_at",
        "model_probability", "ra_pattern",
    },
}  # fmt: skip
# Columns of those tables that hold health values: each must be a sealed blob in the dump.
SEALED = {
    "imaging_result": ("scores", "joint_scores", "confidence"),
    "imaging_jointreview": (
        "model_jsn", "model_erosion", "model_confidence", "model_abstained", "jsn", "erosion",
    ),
    "imaging_rareview": ("model_probability", "ra_pattern"),
}  # fmt: skip


def pg_dump() -> str:
    """The whole database as plain SQL, read by pg_dump over its own connection."""
    settings = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": settings.get("PASSWORD") or ""}
    command = ["pg_dump", "--no-owner", "--no-privileges", "--dbname", settings["NAME"]]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if settings.get(key):
            command += [flag, str(settings[key])]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=120)  # noqa: S603
    return done.stdout


def dumped_tables(dump: str) -> dict[str, tuple[list[str], list[list[str]]]]:
    """table -> (columns, rows) of every COPY block in a plain pg_dump."""
    tables = {}
    pattern = re.compile(r"^COPY (?:\w+\.)?(\w+) \(([^)]*)\) FROM stdin;\n(.*?)^\\\.$", re.M | re.S)
    for match in pattern.finditer(dump):
        columns = [c.strip().strip('"') for c in match.group(2).split(",")]
        rows = [line.split("\t") for line in match.group(3).splitlines() if line]
        tables[match.group(1)] = (columns, rows)
    return tables


def plant_diary(patient) -> None:
    today = patient_today(patient)
    services.entry_save(patient=patient, entry_date=today, values=day_values(flare=True))
    medicine = services.medicine_add(
        patient=patient,
        name="Hydroxychloroquine",
        dose="200",
        unit="mg",
        schedule="once_daily",
        start_date=today - timedelta(days=3),
    )
    services.dose_log_set(patient=patient, medicine_id=medicine.id, day=today, status="skipped")
    for instrument, score in (("esspri", PLANTED_ESSPRI), ("osdi", PLANTED_OSDI)):
        services.questionnaire_response_save(
            patient=patient,
            instrument=instrument,
            answers={"planted": True},
            score=score,
            period_start=today,
            period_end=today,
        )


def plant_imaging(patient, clinician) -> None:
    """A scored radiograph (planted probability and confidences) graded by a clinician."""
    result = make_result(patient, ra_probability=PLANTED_RA_PROBABILITY)
    result.joint_scores = [
        {**joint, "confidence": PLANTED_JOINT_CONFIDENCE} for joint in result.joint_scores
    ]
    result.save()
    grades = {joint: (3, 4) for joint in JOINTS}
    imaging_services.result_review_grade(
        result=result, reviewer=clinician, grades=grades, ra_pattern=True
    )


def is_sealed_blob(text: str) -> bool:
    """A bytea value in a plain dump: \\x + hex, long enough for header, nonce and tag."""
    return text.startswith("\\\\x") and len(text) >= 3 + 2 * (1 + 8 + 12 + 16)


def test_a_database_dump_holds_no_flare_dose_status_or_score(patient_alice, clinician_carol):
    plant_diary(patient_alice)
    plant_imaging(patient_alice, clinician_carol)
    dump = pg_dump()
    tables = dumped_tables(dump)

    for table, allowed in ALLOWED_CLEAR.items():
        columns, rows = tables[table]
        assert rows, f"{table} should hold the planted rows"
        assert set(columns) <= allowed, f"{table} has clear columns {set(columns) - allowed}"
    for score in (PLANTED_ESSPRI, PLANTED_OSDI):
        assert str(score) not in dump
    doses = tables["diary_doselog"]
    assert "skipped" not in {value for row in doses[1] for value in row}
    for value in (PLANTED_RA_PROBABILITY, PLANTED_JOINT_CONFIDENCE):
        assert str(value) not in dump
    for table, sealed in SEALED.items():
        columns, rows = tables[table]
        for row in rows:
            values = dict(zip(columns, row, strict=True))
            assert all(is_sealed_blob(values[name]) for name in sealed), (table, values)

    # The values are there, sealed: the owner reads every one of them back.
    today = patient_today(patient_alice)
    assert selectors.entry_on(patient=patient_alice, day=today).flare is True
    logs = selectors.dose_logs_between(patient=patient_alice, date_from=today, date_to=today)
    assert [log.status for log in logs] == ["skipped"]
    scores = {
        q.instrument: q.score
        for q in selectors.questionnaires_between(
            patient=patient_alice, date_from=None, date_to=None
        )
    }
    assert scores == {"esspri": PLANTED_ESSPRI, "osdi": PLANTED_OSDI}
    result = Result.objects.get(study__patient=patient_alice)
    assert result.scores["ra_pattern"]["probability"] == PLANTED_RA_PROBABILITY
    assert {j["confidence"] for j in result.joint_scores} == {PLANTED_JOINT_CONFIDENCE}
    reviewed = JointReview.objects.filter(result=result)
    assert {(r.jsn, r.erosion) for r in reviewed} == {(3, 4)}
    assert RaReview.objects.get(result=result).ra_pattern is True


def test_the_dump_check_sees_a_clear_health_column(patient_alice):
    """Control: the same parsing does find a health value held in a clear column."""
    plant_diary(patient_alice)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE canary_clear_score (patient_id int, score float8)")
        try:
            cursor.execute(
                "INSERT INTO canary_clear_score VALUES (%s, %s)", [patient_alice.pk, PLANTED_OSDI]
            )
            dump = pg_dump()
        finally:
            cursor.execute("DROP TABLE canary_clear_score")
    columns, rows = dumped_tables(dump)["canary_clear_score"]
    assert columns == ["patient_id", "score"]
    assert rows == [[str(patient_alice.pk), str(PLANTED_OSDI)]]
    assert str(PLANTED_OSDI) in dump
