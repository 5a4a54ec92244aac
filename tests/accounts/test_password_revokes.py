"""A new password (reset by email or change) ends every credential issued before it: API tokens
are revoked and every other session is signed out; the person's current session stays."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import api_token_issue
from tests.factories import PASSWORD

NEW_PASSWORD = "a brand new passphrase 42"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _token_works(raw: str) -> bool:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return api.get("/api/v1/me/profile/").status_code == 200


def _signed_in(client: Client) -> bool:
    response = client.get("/accounts/settings/")
    return response.status_code == 200


def _session_elsewhere(user) -> Client:
    other = Client()
    response = other.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert _signed_in(other)
    return other


def test_password_reset_revokes_tokens_and_other_sessions(client, patient_alice):
    _, raw = api_token_issue(user=patient_alice, otp_verified=False)
    _, raw_2 = api_token_issue(user=patient_alice, otp_verified=False)
    assert _token_works(raw)
    laptop = _session_elsewhere(patient_alice)

    assert client.post("/accounts/password/reset/", {"email": patient_alice.email}).status_code
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body)
    assert link, mail.outbox[-1].body
    form_page = client.get(link.group(1), follow=True)
    response = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link.group(1),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content[:500]

    assert not _token_works(raw) and not _token_works(raw_2)
    assert ApiToken.objects.filter(user=patient_alice, revoked_at__isnull=True).count() == 0
    assert not _signed_in(laptop)
    # The new password works, and a token issued after it works too.
    fresh = Client()
    assert (
        fresh.post(
            "/accounts/login/", {"login": patient_alice.email, "password": NEW_PASSWORD}
        ).status_code
        == 302
    )
    _, raw_new = api_token_issue(user=patient_alice, otp_verified=False)
    assert _token_works(raw_new)


def test_password_change_revokes_tokens_and_other_sessions_but_keeps_this_one(
    client, patient_alice
):
    _, raw = api_token_issue(user=patient_alice, otp_verified=False)
    phone = _session_elsewhere(patient_alice)
    assert (
        client.post(
            "/accounts/login/", {"login": patient_alice.email, "password": PASSWORD}
        ).status_code
        == 302
    )

    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302

    assert not _token_works(raw)
    assert not _signed_in(phone)
    assert _signed_in(client)


def test_a_wrong_old_password_changes_nothing(client, patient_alice):
    _, raw = api_token_issue(user=patient_alice, otp_verified=False)
    client.force_login(patient_alice)
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": "not it at all", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert _token_works(raw)
    patient_alice.refresh_from_db()
    assert patient_alice.check_password(PASSWORD)


def test_another_users_tokens_are_untouched(client, patient_alice, patient_bob):
    _, bobs = api_token_issue(user=patient_bob, otp_verified=False)
    client.force_login(patient_alice)
    client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert _token_works(bobs)
