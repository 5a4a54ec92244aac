"""The diary's bulk readers (registry exports): many patients at once, the same answers as the
per-patient selectors, and only what an export may write."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from diary import selectors, services
from diary.models import DailyEntry
from tests.diary.conftest import save_day

pytestmark = pytest.mark.django_db


def flat(chunks):
    return [entry for chunk in chunks for entry in chunk]


def test_entry_scores_come_in_patient_and_date_order_without_the_note(patient_alice, patient_bob):
    for days_ago in (2, 0, 1):
        save_day(patient_bob, days_ago=days_ago, note="private words", dryness_eyes=days_ago)
        save_day(patient_alice, days_ago=days_ago, factors=["stress", "dry_air"])

    chunks = list(
        selectors.iter_entry_scores(patient_ids=[patient_bob.pk, patient_alice.pk], chunk_size=4)
    )

    assert [len(c) for c in chunks] == [4, 2]
    rows = flat(chunks)
    first, second = sorted([patient_alice.pk, patient_bob.pk])
    assert [r.patient_id for r in rows] == [first] * 3 + [second] * 3
    bob = [r for r in rows if r.patient_id == patient_bob.pk]
    assert [r.date for r in bob] == sorted(r.date for r in bob)
    # Scores in SYMPTOM_NAMES order: dryness of the eyes first.
    assert [r.scores[0] for r in bob] == [2, 1, 0]
    assert bob[0].scores[1:] == (5, 3, 7, 2, 4)
    assert not any(hasattr(r, "note") for r in rows)
    alice = next(r for r in rows if r.patient_id == patient_alice.pk)
    assert alice.factors == ("dry_air", "stress") and alice.flare is False


def test_entry_scores_match_the_decrypted_entries(patient_alice):
    for days_ago in range(5):
        save_day(patient_alice, days_ago=days_ago, fatigue=days_ago, flare=days_ago == 3)
    views = selectors.entries_between(patient=patient_alice, date_from=None, date_to=None)

    rows = flat(selectors.iter_entry_scores(patient_ids=[patient_alice.pk]))

    assert [(r.entry_id, r.date, r.flare, r.factors) for r in rows] == [
        (str(v.id), v.date, v.flare, v.factors) for v in views
    ]
    assert [r.scores[3] for r in rows] == [v.fatigue for v in views]


def test_entry_scores_say_which_days_were_amended(patient_alice):
    save_day(patient_alice, days_ago=3)
    save_day(patient_alice, days_ago=2)
    save_day(patient_alice, days_ago=3, fatigue=9)  # changed after its day

    rows = flat(selectors.iter_entry_scores(patient_ids=[patient_alice.pk]))

    assert [(r.amended, r.scores[3]) for r in rows] == [(True, 9), (False, 7)]


def test_entry_scores_keep_to_the_window_of_last_changes(patient_alice):
    old, changed, new = (save_day(patient_alice, days_ago=d) for d in (3, 2, 1))
    now = timezone.now()
    DailyEntry.objects.filter(pk=old.pk).update(updated_at=now - timedelta(days=10))
    DailyEntry.objects.filter(pk=changed.pk).update(updated_at=now - timedelta(days=5))
    DailyEntry.objects.filter(pk=new.pk).update(updated_at=now + timedelta(hours=1))

    rows = flat(
        selectors.iter_entry_scores(
            patient_ids=[patient_alice.pk],
            updated_from=now - timedelta(days=7),
            updated_before=now,
        )
    )

    # From inclusive, before exclusive; the count an export's progress bar uses agrees.
    assert [r.entry_id for r in rows] == [str(changed.pk)]
    assert selectors.count_entries(
        patient_ids=[patient_alice.pk],
        updated_from=now - timedelta(days=7),
        updated_before=now,
    ) == len(rows)


def test_questionnaires_of_patients_equal_each_patients_own(patient_alice, patient_bob):
    today = selectors.patient_today(patient_alice)
    for n, patient in enumerate([patient_alice, patient_alice, patient_bob]):
        services.questionnaire_response_save(
            patient=patient,
            instrument="esspri",
            answers={"dryness": n, "fatigue": 5, "pain": 4},
            score=float(n),
            period_start=today - timedelta(days=14 + n),
            period_end=today - timedelta(days=n),
            completed_at=timezone.now() - timedelta(hours=n),
        )

    found = selectors.questionnaires_of_patients(patient_ids=[patient_alice.pk, patient_bob.pk])

    for patient in (patient_alice, patient_bob):
        own = selectors.questionnaires_between(patient=patient, date_from=None, date_to=None)
        assert sorted(found[patient.pk], key=lambda q: str(q.id)) == sorted(
            own, key=lambda q: str(q.id)
        )
    assert [q.completed_at for q in found[patient_alice.pk]] == sorted(
        q.completed_at for q in found[patient_alice.pk]
    )
    assert len(found[patient_alice.pk]) == 2 and len(found[patient_bob.pk]) == 1


def test_medicines_of_patients_equal_each_patients_own(patient_alice, patient_bob):
    today = selectors.patient_today(patient_alice)
    for patient, name in [(patient_alice, "Pilocarpine"), (patient_alice, "Hydroxychloroquine")]:
        services.medicine_add(
            patient=patient,
            name=name,
            dose="5",
            unit="mg",
            schedule="twice_daily",
            start_date=today - timedelta(days=len(name)),
        )

    found = selectors.medicines_of_patients(patient_ids=[patient_alice.pk, patient_bob.pk])

    assert found[patient_alice.pk] == selectors.medicines_for(patient=patient_alice)
    assert [m.name for m in found[patient_alice.pk]] == ["Hydroxychloroquine", "Pilocarpine"]
    assert found[patient_bob.pk] == []
