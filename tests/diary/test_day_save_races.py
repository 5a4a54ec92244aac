"""Two saves of one day at the same moment, on real PostgreSQL: a key is applied once, and a
first save made from an empty day does not silently overwrite another first save."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from diary import selectors, services
from diary.models import SaveReceipt
from diary.selectors import patient_today
from tests.diary.conftest import day_values
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)


def race(calls) -> list:
    """Run the calls at once, each in its own thread (and database connection)."""
    start = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        start.wait()
        try:
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - the test inspects what each call did
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_the_same_key_at_once_is_applied_once():
    patient = PatientFactory()
    today = patient_today(patient)

    def save(fatigue):
        return lambda: (
            services.day_save(
                patient=patient,
                entry_date=today,
                values=day_values(fatigue=fatigue),
                idempotency_key="twice",
                base_version="",
            ).status
        )

    results = race([save(3), save(8)])
    assert sorted(results) == ["duplicate", "saved"], results
    assert SaveReceipt.objects.filter(patient=patient, key="twice").count() == 1


def test_two_first_saves_at_once_do_not_overwrite_each_other():
    patient = PatientFactory()
    today = patient_today(patient)

    def save(fatigue):
        return lambda: services.day_save(
            patient=patient, entry_date=today, values=day_values(fatigue=fatigue), base_version=""
        )

    results = race([save(3), save(8)])
    saved = [r for r in results if isinstance(r, services.DaySaved)]
    conflicts = [r for r in results if isinstance(r, services.DayConflict)]
    assert len(saved) == 1 and len(conflicts) == 1, results
    stored = selectors.entry_on(patient=patient, day=today).fatigue
    assert conflicts[0].entry_values["fatigue"] == stored
