"""Erasure: the data key is destroyed first (crypto-shredding), then the rows and the user."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import User
from diary import crypto, services
from diary.models import DailyEntry, DoseLog, Medicine, PatientKey, QuestionnaireResponse
from tests.diary.conftest import save_day
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _fill(patient):
    entry = save_day(patient, note="secret")
    med = services.medicine_add(
        patient=patient,
        name="Pilocarpine",
        dose="5",
        unit="mg",
        schedule="once_daily",
        start_date=entry.date,
    )
    services.dose_log_set(patient=patient, medicine_id=med.id, day=entry.date, status="taken")
    services.questionnaire_response_save(
        patient=patient,
        instrument="esspri",
        answers={"dryness": 5},
        score=5.0,
        period_start=entry.date,
        period_end=entry.date,
    )


def test_erase_destroys_key_before_deleting_rows(patient_alice, patient_bob, monkeypatch):
    _fill(patient_alice)
    _fill(patient_bob)
    seen = {}

    def hook(patient):
        # Runs after the key is destroyed and before any row goes.
        seen["key"] = PatientKey.objects.get(patient=patient)
        seen["entries"] = DailyEntry.objects.filter(patient=patient).count()

    monkeypatch.setattr(services, "ERASURE_HOOKS", [hook])
    services.patient_erase(patient=patient_alice)
    assert seen["key"].destroyed_at is not None and bytes(seen["key"].wrapped_dek) == b""
    assert seen["entries"] == 1
    assert not User.objects.filter(email="alice@example.org").exists()
    for model in (DailyEntry, Medicine, QuestionnaireResponse):
        assert model.objects.count() == 1  # only Bob's are left
    assert DoseLog.objects.count() == 1


def test_a_failure_after_shredding_leaves_only_unreadable_data(patient_alice, monkeypatch):
    _fill(patient_alice)
    entry = DailyEntry.objects.get()

    def broken(patient):
        raise RuntimeError("storage down")

    monkeypatch.setattr(services, "ERASURE_HOOKS", [broken])
    with pytest.raises(RuntimeError):
        services.patient_erase(patient=patient_alice)
    assert DailyEntry.objects.filter(pk=entry.pk).exists()
    with pytest.raises(crypto.KeyDestroyed):
        crypto.decrypt_json(
            patient_id=patient_alice.pk,
            record_type="diary.entry",
            record_id=str(entry.pk),
            blob=entry.payload,
        )


def test_web_delete_needs_the_password(client, patient_alice):
    _fill(patient_alice)
    client.force_login(patient_alice)
    url = reverse("diary:account_delete")
    response = client.post(url, {"password": "wrong password", "confirm": "on"})
    assert response.status_code == 400
    assert "That password is not right." in response.content.decode()
    response = client.post(url, {"password": PASSWORD})
    assert response.status_code == 400  # the confirmation box is required
    assert User.objects.filter(pk=patient_alice.pk).exists()
    response = client.post(url, {"password": PASSWORD, "confirm": "on"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=patient_alice.pk).exists()
    assert DailyEntry.objects.count() == 0
    assert client.get(reverse("diary:entry_list")).status_code == 302  # signed out


def test_api_delete_me_needs_the_password(alice_api, patient_alice):
    _fill(patient_alice)
    assert alice_api.delete("/api/v1/me/", {}, format="json").status_code == 400
    response = alice_api.delete("/api/v1/me/", {"password": "nope"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()
    assert DailyEntry.objects.count() == 1
    response = alice_api.delete("/api/v1/me/", {"password": PASSWORD}, format="json")
    assert response.status_code == 204
    assert not User.objects.filter(pk=patient_alice.pk).exists()
    assert PatientKey.objects.count() == 0


def test_clinician_cannot_use_delete_me(client, clinician_carol):
    from rest_framework.test import APIClient

    from tests.personas import login_verified

    api = APIClient()
    login_verified(api, clinician_carol)
    assert api.delete("/api/v1/me/", {"password": PASSWORD}, format="json").status_code == 403
    assert User.objects.filter(pk=clinician_carol.pk).exists()
