from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiToken
from tests.factories import PASSWORD, PatientFactory, confirmed_totp, current_totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def test_patient_obtains_and_revokes_a_token(api):
    patient = PatientFactory()
    response = api.post(
        "/api/v1/auth/token/", {"email": patient.email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 201
    raw = response.json()["token"]
    assert not ApiToken.objects.filter(key_hash=raw).exists()  # only the hash is stored

    api.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    assert api.delete("/api/v1/auth/token/").status_code == 204
    assert api.delete("/api/v1/auth/token/").status_code == 401


def test_clinician_needs_an_otp_code_for_a_token(api, clinician_carol):
    device = confirmed_totp(clinician_carol)
    body = {"email": clinician_carol.email, "password": PASSWORD}
    missing = api.post("/api/v1/auth/token/", body, format="json")
    assert missing.status_code == 400
    assert "otp" in missing.json()
    wrong = api.post("/api/v1/auth/token/", {**body, "otp": "000000"}, format="json")
    assert wrong.status_code == 401
    device.refresh_from_db()
    device.throttle_reset()  # django-otp delays the next try after a failure; skip the wait
    ok = api.post("/api/v1/auth/token/", {**body, "otp": current_totp_code(device)}, format="json")
    assert ok.status_code == 201
    assert ok.json()["otp_verified"] is True


def test_wrong_password_gets_401_with_a_message(api):
    patient = PatientFactory()
    response = api.post(
        "/api/v1/auth/token/", {"email": patient.email, "password": "nope"}, format="json"
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "Email or password is not correct."


def test_malformed_json_gets_400(api):
    response = api.post("/api/v1/auth/token/", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_a_made_up_token_is_refused(api):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api.delete("/api/v1/auth/token/").status_code == 401
