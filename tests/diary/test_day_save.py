"""services.day_save: the whole day (entry and doses) in one transaction, idempotency keys,
versions and conflicts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from diary import selectors, services
from diary.models import DoseLog, SaveReceipt
from diary.selectors import patient_today
from tests.diary.conftest import day_values, save_day

pytestmark = pytest.mark.django_db


def add_medicine(patient, schedule="twice_daily", times=None, days_ago=10):
    return services.medicine_add(
        patient=patient,
        name="Pilocarpine",
        dose="5",
        unit="mg",
        schedule=schedule,
        start_date=patient_today(patient) - timedelta(days=days_ago),
        times=times,
    )


def day_doses(patient, day) -> dict[int, str]:
    """slot -> status of the day's recorded doses, decrypted through the selector."""
    logs = selectors.dose_logs_between(patient=patient, date_from=day, date_to=day)
    return {log.slot: log.status for log in logs}


def test_entry_and_doses_are_saved_together(patient_alice):
    med = add_medicine(patient_alice)
    today = patient_today(patient_alice)
    saved = services.day_save(
        patient=patient_alice,
        entry_date=today,
        values=day_values(fatigue=8),
        doses=[(med.id, 1, "taken"), (med.id, 2, "missed")],
    )
    assert saved.status == "saved" and saved.date == today
    assert saved.version == selectors.day_version(patient=patient_alice, day=today) != ""
    assert selectors.entry_on(patient=patient_alice, day=today).fatigue == 8
    assert day_doses(patient_alice, today) == {1: "taken", 2: "missed"}


def test_a_bad_dose_leaves_the_entry_unchanged(patient_alice):
    med = add_medicine(patient_alice)
    save_day(patient_alice, fatigue=3)
    today = patient_today(patient_alice)
    with pytest.raises(ValidationError) as exc:
        services.day_save(
            patient=patient_alice,
            entry_date=today,
            values=day_values(fatigue=9),
            doses=[(med.id, 1, "taken"), (med.id, 3, "taken")],  # twice a day: no third dose
        )
    assert f"dose-{med.id}-3" in exc.value.message_dict
    assert selectors.entry_on(patient=patient_alice, day=today).fatigue == 3
    assert not DoseLog.objects.exists()


def test_a_bad_entry_leaves_the_doses_unchanged(patient_alice):
    med = add_medicine(patient_alice)
    today = patient_today(patient_alice)
    services.day_save(
        patient=patient_alice, entry_date=today, values=None, doses=[(med.id, 1, "missed")]
    )
    with pytest.raises(ValidationError) as exc:
        services.day_save(
            patient=patient_alice,
            entry_date=today,
            values=day_values(fatigue=11),
            doses=[(med.id, 1, "taken"), (med.id, 2, "taken")],
        )
    assert "fatigue" in exc.value.message_dict
    assert day_doses(patient_alice, today) == {1: "missed"}
    assert selectors.entry_on(patient=patient_alice, day=today) is None


def test_another_patients_medicine_is_refused(patient_alice, patient_bob):
    bobs = add_medicine(patient_bob)
    with pytest.raises(ValidationError):
        services.day_save(
            patient=patient_alice,
            entry_date=patient_today(patient_alice),
            values=day_values(),
            doses=[(bobs.id, 1, "taken")],
        )
    assert not DoseLog.objects.exists()
    assert selectors.entry_on(patient=patient_alice, day=patient_today(patient_alice)) is None


def test_a_future_day_is_refused_and_nothing_is_stored(patient_alice):
    tomorrow = patient_today(patient_alice) + timedelta(days=1)
    with pytest.raises(ValidationError) as exc:
        services.day_save(patient=patient_alice, entry_date=tomorrow, values=day_values())
    assert "date" in exc.value.message_dict
    assert not patient_alice.diary_entries.exists()


def test_a_key_is_applied_once(patient_alice):
    today = patient_today(patient_alice)
    first = services.day_save(
        patient=patient_alice, entry_date=today, values=day_values(fatigue=4), idempotency_key="k1"
    )
    again = services.day_save(
        patient=patient_alice, entry_date=today, values=day_values(fatigue=9), idempotency_key="k1"
    )
    assert (first.status, again.status) == ("saved", "duplicate")
    assert again.version == first.version
    assert selectors.entry_on(patient=patient_alice, day=today).fatigue == 4
    assert SaveReceipt.objects.filter(patient=patient_alice).count() == 1


def test_keys_are_per_patient(patient_alice, patient_bob):
    for patient in (patient_alice, patient_bob):
        saved = services.day_save(
            patient=patient,
            entry_date=patient_today(patient),
            values=day_values(),
            idempotency_key="same-key",
        )
        assert saved.status == "saved"
    assert SaveReceipt.objects.filter(key="same-key").count() == 2


def test_a_stale_version_with_different_values_is_a_conflict(patient_alice):
    today = patient_today(patient_alice)
    save_day(patient_alice, fatigue=2)
    seen = selectors.day_version(patient=patient_alice, day=today)
    services.day_save(patient=patient_alice, entry_date=today, values=day_values(fatigue=5))
    with pytest.raises(services.DayConflict) as exc:
        services.day_save(
            patient=patient_alice, entry_date=today, values=day_values(fatigue=9), base_version=seen
        )
    assert exc.value.entry_values["fatigue"] == 5
    assert exc.value.version == selectors.day_version(patient=patient_alice, day=today)
    assert selectors.entry_on(patient=patient_alice, day=today).fatigue == 5


def test_a_stale_version_with_the_same_values_saves(patient_alice):
    today = patient_today(patient_alice)
    save_day(patient_alice, fatigue=2)
    saved = services.day_save(
        patient=patient_alice, entry_date=today, values=day_values(fatigue=2), base_version="1"
    )
    assert saved.status == "saved"


def test_an_empty_base_version_conflicts_with_a_day_filled_in_elsewhere(patient_alice):
    today = patient_today(patient_alice)
    save_day(patient_alice, fatigue=2)
    with pytest.raises(services.DayConflict):
        services.day_save(
            patient=patient_alice, entry_date=today, values=day_values(fatigue=7), base_version=""
        )


def test_a_conflicting_dose_answer_is_a_conflict(patient_alice):
    med = add_medicine(patient_alice)
    today = patient_today(patient_alice)
    services.day_save(
        patient=patient_alice, entry_date=today, values=None, doses=[(med.id, 1, "taken")]
    )
    with pytest.raises(services.DayConflict) as exc:
        services.day_save(
            patient=patient_alice,
            entry_date=today,
            values=None,
            doses=[(med.id, 1, "missed")],
            base_version="",
        )
    assert exc.value.doses[(med.id, 1)] == "taken"
    assert day_doses(patient_alice, today) == {1: "taken"}


def test_if_match_must_be_the_current_version(patient_alice):
    today = patient_today(patient_alice)
    save_day(patient_alice)
    current = selectors.day_version(patient=patient_alice, day=today)
    with pytest.raises(services.VersionMismatch) as exc:
        services.day_save(
            patient=patient_alice, entry_date=today, values=day_values(), if_match="0"
        )
    assert exc.value.version == current
    saved = services.day_save(
        patient=patient_alice, entry_date=today, values=day_values(fatigue=1), if_match=current
    )
    assert saved.version != current


def test_nothing_to_save_is_refused(patient_alice):
    with pytest.raises(ValidationError):
        services.day_save(
            patient=patient_alice, entry_date=patient_today(patient_alice), values=None
        )


def test_an_oversized_key_is_refused(patient_alice):
    with pytest.raises(ValidationError) as exc:
        services.day_save(
            patient=patient_alice,
            entry_date=patient_today(patient_alice),
            values=day_values(),
            idempotency_key="x" * 65,
        )
    assert "idempotency_key" in exc.value.message_dict
    assert not patient_alice.diary_entries.exists()


def test_old_receipts_are_pruned(patient_alice):
    today = patient_today(patient_alice)
    services.day_save(
        patient=patient_alice, entry_date=today, values=day_values(), idempotency_key="old"
    )
    SaveReceipt.objects.update(created_at=timezone.now() - timedelta(days=31))
    assert services.receipts_prune() == 1
    assert not SaveReceipt.objects.exists()


def test_dose_times_are_kept_and_checked(patient_alice):
    med = add_medicine(patient_alice, times="8:00, 20:30")
    [view] = selectors.medicines_for(patient=patient_alice)
    assert view.times == ("08:00", "20:30")
    slots = selectors.dose_checklist(patient=patient_alice, day=patient_today(patient_alice))
    assert [s.time for s in slots] == ["08:00", "20:30"]
    with pytest.raises(ValidationError) as exc:
        add_medicine(patient_alice, times="08:00")  # twice a day needs two times
    assert "times" in exc.value.message_dict
    for bad in ("25:00, 26:00", "20:00, 08:00", "noon, night"):
        with pytest.raises(ValidationError):
            add_medicine(patient_alice, times=bad)
    # A change of dose keeps the times while the schedule stays the same.
    services.medicine_update(
        patient=patient_alice, medicine_id=med.id, dose="10", unit="mg", schedule="twice_daily"
    )
    assert selectors.medicine_get(patient=patient_alice, medicine_id=med.id).times == (
        "08:00",
        "20:30",
    )


def test_the_prune_task_forgets_old_keys_only(patient_alice):
    from diary.tasks import prune_save_receipts

    today = patient_today(patient_alice)
    services.day_save(
        patient=patient_alice, entry_date=today, values=day_values(), idempotency_key="a"
    )
    services.day_save(
        patient=patient_alice, entry_date=today, values=day_values(), idempotency_key="b"
    )
    SaveReceipt.objects.filter(key="a").update(created_at=timezone.now() - timedelta(days=40))
    assert prune_save_receipts.apply().get() == 1
    assert list(SaveReceipt.objects.values_list("key", flat=True)) == ["b"]
