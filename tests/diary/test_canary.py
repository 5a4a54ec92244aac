"""Nothing sensitive in clear anywhere: a canary written through every diary path must never
appear in any database column, in any captured log line, or in any Celery task argument."""

from __future__ import annotations

import io
import logging

import pytest
from celery.app.task import Task
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from diary import services
from diary.selectors import patient_today
from tests.diary.conftest import day_values

pytestmark = pytest.mark.django_db

CANARY = "CANARY-7f3a9c-Sjögren-ßecret"
SCANNED_TYPES = ("text", "character varying", "character", "bytea", "json", "jsonb")


def columns_to_scan() -> list[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND data_type = ANY(%s)",
            [list(SCANNED_TYPES)],
        )
        return cursor.fetchall()


def tables_containing(needle: str) -> list[str]:
    """Raw SQL over every text, bytea and JSON column of every table."""
    found = []
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table, column, data_type in columns_to_scan():
            if data_type == "bytea":
                condition, param = f"position(%s::bytea in {qn(column)}) > 0", needle.encode()
            else:
                condition, param = f"{qn(column)}::text LIKE %s", f"%{needle}%"
            cursor.execute(f"SELECT 1 FROM {qn(table)} WHERE {condition} LIMIT 1", [param])  # noqa: S608
            if cursor.fetchone():
                found.append(f"{table}.{column}")
    return found


@pytest.fixture
def task_calls(monkeypatch):
    calls = []

    def record(self, args=None, kwargs=None, **options):
        calls.append((self.name, args, kwargs))

    monkeypatch.setattr(Task, "apply_async", record)
    return calls


def write_canary_everywhere(client, alice_api, patient_alice):
    today = patient_today(patient_alice)
    form = {**day_values(note=CANARY), "flare": "no"}
    assert client.post(reverse("diary:entry_day", args=[today]), form).status_code == 302
    dup = alice_api.post(
        "/api/v1/entries/", {"date": today.isoformat(), **day_values(note=CANARY)}, format="json"
    )
    assert dup.status_code == 409
    bad = alice_api.put(
        f"/api/v1/entries/{today.isoformat()}/", day_values(fatigue=11, note=CANARY), format="json"
    )
    assert bad.status_code == 400
    med = alice_api.post(
        "/api/v1/medicines/",
        {
            "name": CANARY,
            "dose": CANARY,
            "unit": "mg",
            "schedule": "once_daily",
            "start_date": today.isoformat(),
        },
        format="json",
    )
    assert med.status_code == 201
    services.medicine_update(
        patient=patient_alice,
        medicine_id=med.json()["id"],
        dose="2",
        unit=CANARY,
        schedule="twice_daily",
    )
    services.questionnaire_response_save(
        patient=patient_alice,
        instrument="esspri",
        answers={"comment": CANARY},
        score=4.0,
        period_start=today,
        period_end=today,
    )
    assert alice_api.get("/api/v1/me/export/").status_code == 200
    call_command("rotate_keys", "--async", stdout=io.StringIO())


def test_canary_is_never_stored_logged_or_queued_in_clear(
    client, alice_api, patient_alice, patient_bob, caplog, task_calls
):
    caplog.set_level(logging.DEBUG)
    client.force_login(patient_alice)
    write_canary_everywhere(client, alice_api, patient_alice)

    assert tables_containing(CANARY) == []
    assert CANARY not in caplog.text
    assert all(CANARY not in r.getMessage() and CANARY not in repr(r.args) for r in caplog.records)
    assert task_calls, "the rotation task should have been queued"
    assert all(CANARY not in repr(call) for call in task_calls)
    # The canary is really there, encrypted: the owner reads it back.
    export = alice_api.get(f"/api/v1/entries/{patient_today(patient_alice).isoformat()}/")
    assert export.json()["note"] == CANARY


def test_the_scanner_finds_a_canary_in_clear(patient_bob):
    """Control: the same scan does find a value stored in clear (so the test above means it)."""
    patient_bob.display_name = CANARY
    patient_bob.save()
    assert "accounts_user.display_name" in tables_containing(CANARY)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE canary_bytes (b bytea)")
        cursor.execute("INSERT INTO canary_bytes VALUES (%s)", [b"xx" + CANARY.encode() + b"yy"])
        cursor.execute(
            "SELECT 1 FROM canary_bytes WHERE position(%s::bytea in b) > 0", [CANARY.encode()]
        )
        assert cursor.fetchone()
