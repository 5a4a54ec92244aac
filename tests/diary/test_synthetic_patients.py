"""seed_demo's synthetic patients: encrypted like real ones, plausible, and consistent."""

from __future__ import annotations

import io
from datetime import date

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from demo.synthetic import generate_patients, symptom_series
from diary import selectors
from diary.fields import doses_on
from diary.models import DailyEntry, DoseLog, PatientKey, QuestionnaireResponse

pytestmark = pytest.mark.django_db


def test_seed_demo_patients_days_creates_readable_diaries():
    out = io.StringIO()
    call_command("seed_demo", "--patients", "3", "--days", "60", "--quiet", stdout=out)
    assert "Added 3 synthetic patients" in out.getvalue()
    patients = list(User.objects.filter(email__startswith="synthetic-"))
    assert len(patients) == 3
    assert PatientKey.objects.filter(patient__in=patients).count() == 3
    assert all(1930 <= p.birth_year <= 2006 for p in patients)  # a year of birth, never a date
    for patient in patients:
        entries = selectors.entries_between(patient=patient, date_from=None, date_to=None)
        assert 40 <= len(entries) <= 60
        assert max(e.date for e in entries) < timezone.localdate()
        assert all(0 <= e.fatigue <= 10 for e in entries)
        # The flare flag is sealed in the payload (no clear copy) and reads back as a bool.
        assert all(type(e.flare) is bool for e in entries)


def test_esspri_every_two_weeks_scored_as_the_mean_of_its_items():
    generate_patients(count=2, days=56, seed=3)
    patient = User.objects.filter(email__startswith="synthetic-").first()
    responses = selectors.questionnaires_between(
        patient=patient, date_from=None, date_to=None, instrument="esspri"
    )
    assert len(responses) == 4
    for r in responses:
        assert set(r.answers) == {"dryness", "fatigue", "pain"}
        assert r.score == pytest.approx(sum(r.answers.values()) / 3)
        assert (r.period_end - r.period_start).days == 13


def test_dose_logs_follow_each_medicines_schedule():
    generate_patients(count=4, days=30, seed=5)
    assert DoseLog.objects.exists()
    for patient in User.objects.filter(email__startswith="synthetic-"):
        meds = {m.id: m for m in selectors.medicines_for(patient=patient)}
        logs = selectors.dose_logs_between(patient=patient, date_from=date.min, date_to=date.max)
        assert len(logs) == DoseLog.objects.filter(medicine__patient=patient).count()
        for log in logs:
            med = meds[log.medicine_id]
            assert (
                1 <= log.slot <= doses_on(schedule=med.schedule, start=med.start_date, day=log.date)
            )
            assert log.status in ("taken", "missed", "skipped")


def test_symptom_series_are_correlated_and_flares_raise_fatigue():
    scores, flares = symptom_series(np.random.default_rng(11), 720)
    assert scores.min() >= 0 and scores.max() <= 10
    assert np.corrcoef(scores[:, 3], scores[:, 5])[0, 1] > 0.3  # fatigue ~ joint pain
    assert flares.any()
    assert scores[flares, 3].mean() > scores[~flares, 3].mean() + 1


def test_demo_patient_gets_a_diary_once():
    call_command("seed_demo", "--quiet", stdout=io.StringIO())
    patient = User.objects.get(email="patient@example.org")
    count = DailyEntry.objects.filter(patient=patient).count()
    assert 100 <= count <= 120
    assert QuestionnaireResponse.objects.filter(patient=patient).exists()
    call_command("seed_demo", "--quiet", stdout=io.StringIO())
    assert DailyEntry.objects.filter(patient=patient).count() == count
