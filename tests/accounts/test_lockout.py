"""Lockout that cannot be used as a weapon (accounts/lockout.py): both attacks of issue 16, the
progressive delay, the per-address limit that scales with its accounts, and the way back in
through a reset email."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from accounts import lockout
from tests.factories import PASSWORD, PatientFactory

pytestmark = pytest.mark.django_db

OWNER = "10.0.0.1"
ATTACKER = "10.66.6.6"
HOSPITAL = "10.20.30.40"
NEW_PASSWORD = "a brand new passphrase 42"


@pytest.fixture(autouse=True)
def _fast_password_hashing_and_own_cache(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The counters live in the cache; a cache of this test's own keeps parallel test workers
    # (pytest -n, one Redis database) from counting each other's failures.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"lockout-{uuid.uuid4().hex}",
        }
    }


def sign_in(email: str, password: str, address: str, client: Client | None = None) -> int:
    client = client or Client()
    response = client.post(
        "/accounts/login/", {"login": email, "password": password}, REMOTE_ADDR=address
    )
    return response.status_code


def fail(email: str, address: str, times: int) -> list[int]:
    client = Client()
    return [sign_in(email, "wrong password", address, client) for _ in range(times)]


# --- Attack 1: someone else's wrong passwords -------------------------------------------------


def test_wrong_passwords_from_another_address_do_not_lock_the_owner(patient_alice, settings):
    statuses = fail(patient_alice.email, ATTACKER, 20)
    assert statuses[: settings.AXES_FAILURE_LIMIT - 1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert set(statuses[settings.AXES_FAILURE_LIMIT :]) == {429}
    # The attacker's own pair stays locked, even with the right password...
    assert sign_in(patient_alice.email, PASSWORD, ATTACKER) == 429
    # ...while the owner, from her own address, signs in as ever (page and API).
    assert sign_in(patient_alice.email, PASSWORD, OWNER) == 302
    api = APIClient()
    token = api.post(
        "/api/v1/auth/token/",
        {"email": patient_alice.email, "password": PASSWORD},
        format="json",
        REMOTE_ADDR=OWNER,
    )
    assert token.status_code == 201


def test_one_slow_attempt_every_quarter_hour_does_not_keep_the_owner_out(patient_alice):
    """The old weakness: one attempt per cool-off kept the account locked for everyone."""
    fail(patient_alice.email, ATTACKER, 5)
    for _ in range(3):
        fail(patient_alice.email, ATTACKER, 1)
        assert sign_in(patient_alice.email, PASSWORD, OWNER) == 302


# --- Progressive delay ------------------------------------------------------------------------


def test_lock_duration_doubles_and_is_capped():
    assert lockout.lock_duration(0) == timedelta(minutes=15)
    assert lockout.lock_duration(1) == timedelta(minutes=30)
    assert lockout.lock_duration(3) == timedelta(hours=2)
    assert lockout.lock_duration(40) == timedelta(hours=24)


def test_each_attempt_while_locked_lengthens_the_lock(patient_alice, monkeypatch):
    now = 1_000_000.0
    monkeypatch.setattr(lockout, "_now", lambda: now)
    email = patient_alice.email
    fail(email, ATTACKER, 5)
    assert lockout.pair_locked_until(email, ATTACKER) == now + 15 * 60
    fail(email, ATTACKER, 2)
    assert lockout.pair_locked_until(email, ATTACKER) == now + 60 * 60
    # The owner's pair has no lock at all.
    assert lockout.pair_locked_until(email, OWNER) == 0.0


# --- Attack 2: many people behind one address -------------------------------------------------


def test_many_users_behind_one_address_are_not_all_locked():
    staff = [PatientFactory(email=f"nurse{i}@hospital.example") for i in range(12)]
    for person in staff:
        assert sign_in(person.email, PASSWORD, HOSPITAL) == 302
    assert lockout.address_limit(HOSPITAL) == 30 + 10 * 12
    # Someone on the hospital network sprays passwords across accounts until the address limit.
    sprayer = Client()
    for i in range(lockout.address_limit(HOSPITAL) + 10):
        sign_in(f"guess{i}@example.org", "Password1!", HOSPITAL, sprayer)
    # Every colleague who signs in from there still gets in.
    for person in staff:
        assert sign_in(person.email, PASSWORD, HOSPITAL) == 302
    # One colleague's typos lock only that colleague, at that address.
    fail(staff[0].email, HOSPITAL, 5)
    assert sign_in(staff[0].email, PASSWORD, HOSPITAL) == 429
    assert sign_in(staff[1].email, PASSWORD, HOSPITAL) == 302


def test_past_the_address_limit_an_account_new_to_the_address_is_refused():
    newcomer = PatientFactory(email="newcomer@example.org")
    for i in range(lockout.ADDRESS_BASE_LIMIT):
        sign_in(f"guess{i}@example.org", "Password1!", ATTACKER)
    assert sign_in(newcomer.email, PASSWORD, ATTACKER) == 429
    # The same person from anywhere else is fine.
    assert sign_in(newcomer.email, PASSWORD, OWNER) == 302


def test_a_botnet_guessing_one_account_leaves_the_owners_address_open(patient_alice):
    assert sign_in(patient_alice.email, PASSWORD, OWNER) == 302  # her usual address
    for i in range(lockout.ACCOUNT_LIMIT + 5):
        fail(patient_alice.email, f"192.0.2.{i % 250}", 1)
    assert sign_in(patient_alice.email, PASSWORD, "198.51.100.7") == 429
    assert sign_in(patient_alice.email, PASSWORD, OWNER) == 302


# --- The way back in ----------------------------------------------------------------------------


def _reset_password(email: str, address: str) -> None:
    client = Client(REMOTE_ADDR=address)
    assert client.post("/accounts/password/reset/", {"email": email}).status_code == 302
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body)
    assert link, mail.outbox[-1].body
    page = client.get(link.group(1), follow=True)
    url = page.redirect_chain[-1][0] if page.redirect_chain else link.group(1)
    done = client.post(url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done.status_code == 302


def test_a_locked_out_person_gets_in_through_a_reset_email(patient_alice, monkeypatch):
    fail(patient_alice.email, OWNER, 7)  # her own typos, and then some: locked, progressively
    assert sign_in(patient_alice.email, PASSWORD, OWNER) == 429
    page = Client().post(
        "/accounts/login/",
        {"login": patient_alice.email, "password": PASSWORD},
        REMOTE_ADDR=OWNER,
    )
    assert b"reset your password" in page.content
    _reset_password(patient_alice.email, OWNER)
    assert sign_in(patient_alice.email, NEW_PASSWORD, OWNER) == 302


def test_a_reset_also_opens_an_address_past_its_limit():
    newcomer = PatientFactory(email="newcomer@example.org")
    for i in range(lockout.ADDRESS_BASE_LIMIT):
        sign_in(f"guess{i}@example.org", "Password1!", HOSPITAL)
    assert sign_in(newcomer.email, PASSWORD, HOSPITAL) == 429
    _reset_password(newcomer.email, HOSPITAL)
    assert sign_in(newcomer.email, NEW_PASSWORD, HOSPITAL) == 302


def test_no_cache_key_holds_an_email_or_an_address(patient_alice):
    from django.core.cache import cache

    fail(patient_alice.email, ATTACKER, 6)
    keys = [key for key in cache._cache if "lockout" in key]  # LocMemCache's own store
    assert keys
    assert not any("alice" in k or ATTACKER in k for k in keys)


def test_the_api_gets_json_on_the_attempt_that_locks(patient_alice):
    api = APIClient()
    statuses = []
    for _ in range(6):
        response = api.post(
            "/api/v1/auth/token/",
            {"email": patient_alice.email, "password": "bad"},
            format="json",
            REMOTE_ADDR=ATTACKER,
        )
        statuses.append(response.status_code)
        assert response["Content-Type"] == "application/json"
    assert statuses == [401, 401, 401, 401, 429, 429]
    assert "password reset by email" in response.json()["detail"]


def test_behind_a_proxy_each_person_keeps_their_own_address(settings, patient_alice):
    from django.test import RequestFactory

    factory = RequestFactory()
    settings.TRUSTED_PROXY_COUNT = 1
    request = factory.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")
    assert lockout.client_address(request) == "203.0.113.9"  # "1.2.3.4" was client-supplied
    assert lockout.client_address(factory.get("/", REMOTE_ADDR="10.0.0.2")) == "10.0.0.2"
    bad = factory.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-address")
    assert lockout.client_address(bad) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 0
    assert lockout.client_address(request) == "10.0.0.2"
    # Through the proxy, an attacker's failures do not lock the owner (different forwarded
    # addresses, one proxy address).
    settings.TRUSTED_PROXY_COUNT = 1
    attacker = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.66")
    for _ in range(6):
        attacker.post("/accounts/login/", {"login": patient_alice.email, "password": "bad"})
    owner = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9")
    response = owner.post("/accounts/login/", {"login": patient_alice.email, "password": PASSWORD})
    assert response.status_code == 302


def test_a_request_without_an_address_is_handled(patient_alice):
    from django.http import HttpRequest

    assert lockout.client_address(HttpRequest()) is None
    Client().force_login(patient_alice)  # force_login sends a request without REMOTE_ADDR
