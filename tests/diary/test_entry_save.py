"""The entry_save service: one entry per day, validation, amendments, future dates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from diary import selectors, services
from diary.models import DailyEntry
from diary.selectors import patient_today
from tests.diary.conftest import day_values, save_day

pytestmark = pytest.mark.django_db


def test_saved_day_reads_back_decrypted(patient_alice):
    save_day(patient_alice, note="felt ok", flare=True, factors=["stress", "dry_air"])
    [entry] = selectors.entries_between(patient=patient_alice, date_from=None, date_to=None)
    assert entry.note == "felt ok"
    assert entry.flare is True
    assert entry.factors == ("dry_air", "stress")
    assert entry.fatigue == 7
    assert entry.amended_at is None


def test_zero_scores_and_empty_lists_round_trip(patient_alice):
    zeros = {name: 0 for name in ("dryness_eyes", "dryness_mouth", "dryness_skin")}
    save_day(patient_alice, factors=[], note="", **zeros)
    entry = selectors.entry_on(patient=patient_alice, day=patient_today(patient_alice))
    assert (entry.dryness_eyes, entry.factors, entry.note, entry.flare) == (0, (), "", False)


def test_saving_a_day_again_replaces_it_without_amendment_on_the_day(patient_alice):
    save_day(patient_alice)
    entry = save_day(patient_alice, fatigue=1)
    assert DailyEntry.objects.filter(patient=patient_alice).count() == 1
    assert entry.amended_at is None
    assert selectors.entry_on(patient=patient_alice, day=entry.date).fatigue == 1


def test_editing_a_past_day_marks_an_amendment(patient_alice):
    save_day(patient_alice, days_ago=3)
    entry = save_day(patient_alice, days_ago=3, fatigue=0)
    assert entry.amended_at is not None
    view = selectors.entry_on(patient=patient_alice, day=entry.date)
    assert view.is_amended and view.fatigue == 0


def test_filling_in_a_past_day_first_time_is_not_an_amendment(patient_alice):
    entry = save_day(patient_alice, days_ago=5)
    assert entry.amended_at is None


def test_future_date_is_refused(patient_alice):
    tomorrow = patient_today(patient_alice) + timedelta(days=1)
    with pytest.raises(ValidationError) as err:
        services.entry_save(patient=patient_alice, entry_date=tomorrow, values=day_values())
    assert "date" in err.value.message_dict
    assert not DailyEntry.objects.exists()


def test_create_only_refuses_second_entry_and_keeps_the_first(patient_alice):
    first = save_day(patient_alice, note="first")
    with pytest.raises(services.EntryAlreadyExists) as err:
        services.entry_save(
            patient=patient_alice,
            entry_date=first.date,
            values=day_values(note="second"),
            create_only=True,
        )
    assert err.value.entry.pk == first.pk
    assert selectors.entry_on(patient=patient_alice, day=first.date).note == "first"


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"fatigue": 11}, "fatigue"),
        ({"fatigue": -1}, "fatigue"),
        ({"fatigue": "7"}, "fatigue"),
        ({"fatigue": 7.5}, "fatigue"),
        ({"fatigue": True}, "fatigue"),
        ({"fatigue": None}, "fatigue"),
        ({"flare": "yes"}, "flare"),
        ({"factors": ["moon"]}, "factors"),
        ({"factors": "stress"}, "factors"),
        ({"note": "x" * 5001}, "note"),
    ],
)
def test_bad_values_are_refused_per_field_and_nothing_changes(patient_alice, override, field):
    before = save_day(patient_alice, note="kept")
    with pytest.raises(ValidationError) as err:
        services.entry_save(
            patient=patient_alice, entry_date=before.date, values=day_values(**override)
        )
    assert field in err.value.message_dict
    assert selectors.entry_on(patient=patient_alice, day=before.date).note == "kept"


def test_note_of_exactly_the_limit_is_accepted(patient_alice):
    save_day(patient_alice, note="x" * 5000)
    assert (
        len(selectors.entry_on(patient=patient_alice, day=patient_today(patient_alice)).note)
        == 5000
    )


def test_day_follows_the_patients_time_zone(patient_alice):
    patient_alice.time_zone = "Pacific/Kiritimati"  # UTC+14: "today" there is often tomorrow in UTC
    patient_alice.save()
    entry = save_day(patient_alice)
    assert entry.date == patient_today(patient_alice)


def test_entries_of_other_patients_are_not_returned(patient_alice, patient_bob):
    save_day(patient_alice)
    assert selectors.entries_between(patient=patient_bob, date_from=None, date_to=None) == []


def test_a_lost_race_on_create_answers_already_exists(patient_alice, monkeypatch):
    """Two creates of one day at once: the loser gets EntryAlreadyExists, never a 500."""
    first = save_day(patient_alice, note="winner")
    real_filter = DailyEntry.objects.select_for_update

    class Blind:
        def filter(self, **kwargs):
            return DailyEntry.objects.none()

    monkeypatch.setattr(DailyEntry.objects, "select_for_update", lambda: Blind())
    with pytest.raises(services.EntryAlreadyExists):
        services.entry_save(
            patient=patient_alice,
            entry_date=first.date,
            values=day_values(note="loser"),
            create_only=True,
        )
    monkeypatch.setattr(DailyEntry.objects, "select_for_update", real_filter)
    assert selectors.entry_on(patient=patient_alice, day=first.date).note == "winner"


def test_a_lost_race_on_save_becomes_an_update(patient_alice, monkeypatch):
    first = save_day(patient_alice, note="first")
    real = DailyEntry.objects.select_for_update
    calls = []

    def once_blind():
        calls.append(1)
        return DailyEntry.objects.filter(pk=None) if len(calls) == 1 else real()

    monkeypatch.setattr(DailyEntry.objects, "select_for_update", once_blind)
    entry, created = services.entry_save(
        patient=patient_alice, entry_date=first.date, values=day_values(note="second")
    )
    assert (created, entry.pk, len(calls)) == (False, first.pk, 2)
    assert selectors.entry_on(patient=patient_alice, day=first.date).note == "second"
