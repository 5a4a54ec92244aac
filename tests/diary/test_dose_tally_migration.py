"""Migration diary 0004: the sealed monthly dose tallies are filled from the doses that exist
(sealed as 0003 left them), so adherence over whole months counts them from the first request.

Runs the real migration on the test database, with doses written through the historical models
exactly as the code before the change stored them."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from diary import crypto, selectors
from diary.models import DOSE_RECORD, DOSE_TALLY_RECORD, DoseTally

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("diary", "0003_seal_flare_dose_status_and_scores")]
AFTER = [("diary", "0004_dose_tally")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.fixture
def back_to_latest():
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_tallies_are_filled_from_the_existing_doses(patient_alice, patient_bob, back_to_latest):
    old = migrate(BEFORE)
    Medicine, Dose = old.get_model("diary", "Medicine"), old.get_model("diary", "DoseLog")
    start = date(2026, 1, 20)
    expected: dict = {}
    medicines = {}
    for patient in (patient_alice, patient_bob):
        med_id = uuid.uuid4()
        Medicine.objects.create(
            id=med_id, patient_id=patient.pk, start_date=start, payload=b"not read here"
        )
        medicines[patient.pk] = med_id
        for back in range(70):
            day, dose_id = start + timedelta(days=back), uuid.uuid4()
            status = ("taken", "taken", "missed", "skipped")[(back + patient.pk) % 4]
            blob = crypto.encrypt_json(
                patient_id=patient.pk, record_type=DOSE_RECORD, record_id=str(dose_id),
                payload={"status": status},
            )  # fmt: skip
            Dose.objects.create(id=dose_id, medicine_id=med_id, date=day, slot=1, payload=blob)
            expected.setdefault((med_id, day.replace(day=1)), Counter())[status] += 1
    migrate(AFTER)
    cache = crypto.DataKeyCache()
    found = {}
    for tally in DoseTally.objects.select_related("medicine"):
        counts = crypto.decrypt_json(
            patient_id=tally.medicine.patient_id,
            record_type=DOSE_TALLY_RECORD,
            record_id=str(tally.id),
            blob=tally.payload,
            cache=cache,
        )
        found[(tally.medicine_id, tally.month)] = Counter({s: n for s, n in counts.items() if n})
    assert found == expected
    assert len(found) == 6  # January, February and March of two medicines
    # Whole months from the tallies, the rest from the rows: what counting every row gives.
    for first, last in ((start, date(2026, 3, 30)), (date(2026, 2, 1), date(2026, 2, 28))):
        fast = selectors.dose_status_counts(patient=patient_alice, date_from=first, date_to=last)
        slow = selectors.dose_status_counts_from_rows(
            patient=patient_alice, date_from=first, date_to=last
        )
        assert fast == slow and fast
        assert {m for m, _ in fast} == {medicines[patient_alice.pk]}  # not Bob's
