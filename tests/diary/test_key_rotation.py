"""Key rotation: rewrap every data key under the new KEK; afterwards the old KEK can go."""

from __future__ import annotations

import io
import os

import pytest
from django.core.management import call_command

from diary import selectors, services
from diary.models import PatientKey
from diary.tasks import rotate_keys
from tests.diary.conftest import save_day
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_patients_with_diaries():
    patients = PatientFactory.create_batch(3)
    for i, patient in enumerate(patients):
        save_day(patient, note=f"note {i}")
    return patients


def _add_new_kek(settings):
    old = list(settings.DIARY_KEKS)
    settings.DIARY_KEKS = [("new-kek", os.urandom(32)), *old]
    return old


def test_rotate_keys_command_rewraps_then_old_kek_can_be_removed(
    settings, three_patients_with_diaries
):
    blobs_before = {p.pk: bytes(p.diary_entries.get().payload) for p in three_patients_with_diaries}
    _add_new_kek(settings)
    out = io.StringIO()
    call_command("rotate_keys", "--batch-size", "2", stdout=out)
    assert "3 rewrapped, 0 already current" in out.getvalue()
    assert "0 left under other keys" in out.getvalue()
    assert set(PatientKey.objects.values_list("kek_id", flat=True)) == {"new-kek"}
    settings.DIARY_KEKS = settings.DIARY_KEKS[:1]  # the old KEK is gone
    for i, patient in enumerate(three_patients_with_diaries):
        [entry] = selectors.entries_between(patient=patient, date_from=None, date_to=None)
        assert entry.note == f"note {i}"
        # Rotation rewraps keys only: the records themselves are untouched.
        assert bytes(patient.diary_entries.get().payload) == blobs_before[patient.pk]


def test_rotation_is_idempotent_and_resumable(settings, three_patients_with_diaries):
    _add_new_kek(settings)
    first = services.keys_rotate(batch_size=1)
    second = services.keys_rotate(batch_size=1)
    assert first == {"rewrapped": 3, "already_current": 0, "destroyed": 0}
    assert second == {"rewrapped": 0, "already_current": 3, "destroyed": 0}


def test_interrupted_rotation_finishes_on_rerun(settings, three_patients_with_diaries):
    _add_new_kek(settings)
    from diary import crypto

    crypto.rewrap_batch(after_id=0, batch_size=1)  # as if the run died after one batch
    totals = services.keys_rotate(batch_size=10)
    assert totals == {"rewrapped": 2, "already_current": 1, "destroyed": 0}


def test_rotation_skips_destroyed_keys(settings, three_patients_with_diaries):
    from diary import crypto

    crypto.destroy_patient_key(three_patients_with_diaries[0].pk)
    _add_new_kek(settings)
    assert services.keys_rotate()["destroyed"] == 1


def test_without_rotation_removing_the_old_kek_breaks_decryption(
    settings, three_patients_with_diaries
):
    from diary import crypto

    settings.DIARY_KEKS = [("new-kek", os.urandom(32))]
    with pytest.raises(crypto.DecryptionError):
        selectors.entries_between(
            patient=three_patients_with_diaries[0], date_from=None, date_to=None
        )


def test_rotation_task_runs_the_service(settings, three_patients_with_diaries):
    _add_new_kek(settings)
    assert rotate_keys.apply(kwargs={"batch_size": 2}).get()["rewrapped"] == 3
