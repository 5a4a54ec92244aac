"""Adherence counts doses due arithmetically and by one grouped query, over a bounded period:
the worst request a patient can make costs about what a normal one does (bench/bench_adherence.py
measures it; here the arithmetic and the bounds are checked)."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from diary import dates, selectors, services
from diary.fields import SCHEDULES, doses_between, doses_on
from diary.selectors import patient_today

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_doses_between_is_the_sum_of_doses_on(schedule):
    rng = random.Random(16)
    base = date(2020, 1, 1)
    for _ in range(300):
        start = base + timedelta(days=rng.randint(0, 60))
        first = base + timedelta(days=rng.randint(-20, 80))
        last = first + timedelta(days=rng.randint(-3, 90))
        expected = sum(
            doses_on(schedule=schedule, start=start, day=first + timedelta(days=i))
            for i in range(max(0, (last - first).days + 1))
        )
        assert doses_between(schedule=schedule, start=start, first=first, last=last) == expected


def test_ten_years_of_twenty_medicines_is_a_fixed_number_of_queries(patient_alice):
    today = patient_today(patient_alice)
    first = today - timedelta(days=dates.MAX_PERIOD_DAYS - 1)
    for i in range(20):
        services.medicine_add(
            patient=patient_alice,
            name=f"Medicine {i}",
            dose="1",
            unit="mg",
            schedule="weekly" if i % 2 else "twice_daily",
            start_date=dates.FIXED_FLOOR,
        )
    with CaptureQueriesContext(connection) as queries:
        rows = selectors.adherence(patient=patient_alice, date_from=first, date_to=today)
    assert len(rows) == 20
    assert len(queries) <= 5
    days = dates.MAX_PERIOD_DAYS
    twice = [r for r in rows if r.medicine.schedule == "twice_daily"]
    assert all(r.expected == 2 * days and r.unrecorded == 2 * days for r in twice)


def test_adherence_counts_recorded_doses(alice_api, patient_alice):
    today = patient_today(patient_alice)
    med = services.medicine_add(
        patient=patient_alice,
        name="Pilocarpine",
        dose="5",
        unit="mg",
        schedule="once_daily",
        start_date=today - timedelta(days=9),
    )
    for back, status in ((0, "taken"), (1, "taken"), (2, "missed"), (3, "skipped")):
        services.dose_log_set(
            patient=patient_alice,
            medicine_id=med.id,
            day=today - timedelta(days=back),
            status=status,
        )
    row = alice_api.get("/api/v1/medicines/adherence/").json()[0]
    assert (row["expected"], row["taken"], row["missed"], row["skipped"]) == (10, 2, 1, 1)
    assert row["unrecorded"] == 6


@pytest.mark.parametrize(
    "query",
    [
        "?from=0001-01-01",
        "?from=1900-01-01&to=1950-01-01",
        f"?from={(date.today() - timedelta(days=dates.MAX_PERIOD_DAYS + 5)).isoformat()}",
    ],
)
def test_the_adherence_period_is_bounded(alice_api, query):
    response = alice_api.get("/api/v1/medicines/adherence/" + query)
    assert response.status_code == 400
    assert response.json()["from"]


def test_the_longest_allowed_period_is_answered(alice_api, patient_alice):
    today = patient_today(patient_alice)
    first = today - timedelta(days=dates.MAX_PERIOD_DAYS - 1)
    response = alice_api.get(f"/api/v1/medicines/adherence/?from={first.isoformat()}")
    assert response.status_code == 200
