from __future__ import annotations

import pytest
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import (
    PASSWORD,
    ClinicianFactory,
    PatientFactory,
    confirmed_totp,
    current_totp_code,
)
from tests.personas import login_verified

pytestmark = pytest.mark.django_db


def _sign_in(client, user):
    return client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})


def test_clinician_without_a_device_is_sent_to_enrolment(client, clinician_carol):
    _sign_in(client, clinician_carol)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/enrol/")


def test_the_enrolment_page_scripts_load_without_replacing_its_secret(client, clinician_carol):
    # The enrolment page loads the scripts' words (/jsi18n/...): redirected to enrolment, that
    # request would start a new device and the secret on screen would no longer work.
    _sign_in(client, clinician_carol)
    page = client.get("/accounts/2fa/enrol/")
    shown = page.context["secret"]
    assert b"/jsi18n/" in page.content
    words = client.get("/jsi18n/en-gb/")
    assert words.status_code == 200
    assert words["Content-Type"].startswith("text/javascript")
    device = TOTPDevice.objects.get(user=clinician_carol, confirmed=False)
    assert page.context["secret"] == shown and device.config_url.count(shown) == 1
    assert client.get("/diary/").status_code == 302  # other pages still wait for enrolment
    again = client.get("/accounts/2fa/enrol/")  # a reload shows the same secret
    assert again.context["secret"] == shown
    assert TOTPDevice.objects.filter(user=clinician_carol).count() == 1
    for fetched_by_the_browser in ("/manifest.webmanifest", "/sw.js"):
        assert client.get(fetched_by_the_browser).status_code == 200


def test_enrolment_shows_a_qr_code_then_backup_codes(client, clinician_carol):
    _sign_in(client, clinician_carol)
    page = client.get("/accounts/2fa/enrol/")
    assert b"data:image/svg+xml;base64," in page.content
    device = TOTPDevice.objects.get(user=clinician_carol, confirmed=False)

    wrong = client.post("/accounts/2fa/enrol/", {"code": "000000"})
    assert b"not right" in wrong.content
    device.refresh_from_db()
    device.throttle_reset()  # django-otp delays the next try after a failure; skip the wait
    response = client.post("/accounts/2fa/enrol/", {"code": current_totp_code(device)})
    assert response.status_code == 200
    assert len(response.context["codes"]) == 10
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/").status_code == 200


def test_clinician_with_a_device_must_verify_each_session(client, clinician_carol):
    device = confirmed_totp(clinician_carol)
    _sign_in(client, clinician_carol)
    response = client.get("/")
    assert response["Location"].startswith("/accounts/2fa/verify/")
    response = client.post(
        "/accounts/2fa/verify/?next=/accounts/settings/", {"code": current_totp_code(device)}
    )
    assert response["Location"] == "/accounts/settings/"
    assert client.get("/").status_code == 200


def test_a_totp_code_cannot_be_used_twice(client, clinician_carol):
    device = confirmed_totp(clinician_carol)
    code = current_totp_code(device)
    _sign_in(client, clinician_carol)
    assert client.post("/accounts/2fa/verify/", {"code": code}).status_code == 302
    client.post("/accounts/logout/")

    _sign_in(client, clinician_carol)
    response = client.post("/accounts/2fa/verify/", {"code": code})
    assert response.status_code == 200
    assert b"already been used" in response.content


def test_an_expired_code_is_refused(client, clinician_carol):
    device = confirmed_totp(clinician_carol)
    _sign_in(client, clinician_carol)
    response = client.post(
        "/accounts/2fa/verify/", {"code": current_totp_code(device, offset_steps=-10)}
    )
    assert response.status_code == 200
    assert b"not valid" in response.content


def test_a_backup_code_works_once(client, clinician_carol):
    login_verified(client, clinician_carol)
    codes = client.post("/accounts/2fa/backup-codes/").context["codes"]
    client.post("/accounts/logout/")
    _sign_in(client, clinician_carol)
    assert client.post("/accounts/2fa/verify/", {"code": codes[0]}).status_code == 302
    assert not StaticToken.objects.filter(token=codes[0]).exists()


def test_repeated_wrong_codes_lock_the_account_out(client, clinician_carol, settings):
    confirmed_totp(clinician_carol)
    _sign_in(client, clinician_carol)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/accounts/2fa/verify/", {"code": "123456"})
    response = client.post("/accounts/2fa/verify/", {"code": "123456"})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert _sign_in(client, clinician_carol).status_code == 429


def test_patient_may_opt_in_and_out_of_two_factor(client):
    patient = PatientFactory()
    client.force_login(patient)
    assert b"Turn on two-factor" in client.get("/accounts/settings/").content
    client.get("/accounts/2fa/enrol/")
    device = TOTPDevice.objects.get(user=patient)
    client.post("/accounts/2fa/enrol/", {"code": current_totp_code(device)})
    assert b"Two-factor sign-in is <strong>on</strong>" in client.get("/accounts/settings/").content
    client.post("/accounts/2fa/disable/")
    assert not TOTPDevice.objects.filter(user=patient).exists()


def test_clinician_cannot_turn_two_factor_off(client, clinician_carol):
    login_verified(client, clinician_carol)
    client.post("/accounts/2fa/disable/")
    assert TOTPDevice.objects.filter(user=clinician_carol).exists()


def test_enrolment_redirect_keeps_only_local_next_urls(client, clinician_carol):
    device = confirmed_totp(clinician_carol)
    _sign_in(client, clinician_carol)
    response = client.post(
        "/accounts/2fa/verify/?next=https://evil.example/", {"code": current_totp_code(device)}
    )
    assert response["Location"] == "/"


def test_unverified_clinician_gets_403_from_the_api(client, clinician_carol):
    confirmed_totp(clinician_carol)
    _sign_in(client, clinician_carol)
    response = client.get("/api/v1/me/profile/")
    assert response.status_code == 403
    assert "Two-factor authentication is required" in response.json()["detail"]


def test_new_clinician_is_refused_when_signing_in_later_without_enrolling(client):
    clinician = ClinicianFactory()
    _sign_in(client, clinician)
    assert client.get("/accounts/settings/")["Location"].startswith("/accounts/2fa/enrol/")


def test_verified_clinician_reaches_the_api(client, clinician_carol):
    login_verified(client, clinician_carol)
    response = client.get("/api/v1/me/profile/")
    assert response.status_code == 200
    assert response.json()["role"] == "clinician"


def test_patient_without_two_factor_reaches_the_api(client):
    patient = PatientFactory()
    client.force_login(patient)
    assert client.get("/api/v1/me/profile/").json()["two_factor_enabled"] is False
