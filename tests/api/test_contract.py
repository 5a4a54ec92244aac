"""The API does what its OpenAPI schema says (issue 16): schemathesis, in process, all checks.

A bounded number of cases per operation with a fixed seed, as a patient and as a clinician,
through Django's WSGI application on the test database. Slow (minutes on a shared machine).
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections

from accounts.services import api_token_issue
from consent.models import ShareScope
from consent.services import grant_create
from diary.selectors import patient_today
from diary.services import entry_save
from tests.factories import confirmed_totp
from tests.isolation import clear_own_cache

# Where a request can be well formed by the schema and still be refused with a 400 for a
# reason JSON Schema cannot state, positive_data_acceptance also takes 400 there (every other
# check stays as strict). Each line says why; anything else refused with a 400 fails.
pytestmark = pytest.mark.slow

ALSO_400 = {
    # The period may span at most 3660 days, counted from today when `to` is left out.
    ("GET", "/api/v1/entries/"): "period window relative to today",
    ("GET", "/api/v1/doses/"): "period window relative to today",
    ("GET", "/api/v1/medicines/adherence/"): "period window relative to today",
    ("GET", "/api/v1/questionnaires/"): "period window relative to today",
    ("GET", "/api/v1/trends/"): "period window relative to today",
    ("GET", "/api/v1/patients/"): "period window relative to today",
    ("GET", "/api/v1/patients/{patient_id}/summary/"): "period window relative to today",
    # A diary day must lie inside the diary's date window (not in the future).
    ("POST", "/api/v1/entries/"): "day inside the diary's date window",
    ("PUT", "/api/v1/entries/{day}/"): "day inside the diary's date window",
    ("PATCH", "/api/v1/entries/{day}/"): "day inside the diary's date window",
    ("POST", "/api/v1/doses/"): "day inside the medicine's course",
    ("POST", "/api/v1/medicines/"): "dates inside the diary's window, end after start",
    ("PATCH", "/api/v1/medicines/{medicine_id}/"): "dates inside the medicine's course",
    # The NHS number's modulus-11 check digit; the document must exist and be published.
    ("POST", "/api/v1/consents/"): "NHS number check digit, published document id",
    # Only a consent that is given can be withdrawn.
    ("POST", "/api/v1/consents/withdraw/"): "state: the consent must be given",
    # The account's own password.
    ("DELETE", "/api/v1/me/"): "the account's password",
    # A real P-256 public key and a push service's https address.
    ("POST", "/api/v1/reminders/push-subscriptions/"): "a real P-256 key",
    # Answers are checked against the chosen instrument's items.
    ("POST", "/api/v1/questionnaires/"): "answers per instrument",
}
DAY = {
    "dryness_eyes": 4,
    "dryness_mouth": 6,
    "dryness_skin": 2,
    "fatigue": 7,
    "muscle_pain": 3,
    "joint_pain": 5,
    "flare": False,
    "factors": [],
    "note": "",
}
POSITIVE = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]


def _config(*, coverage: bool) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": 16,
            "generation": {
                "max-examples": 5,
                "deterministic": True,
                "database": "none",
                # PostgreSQL text cannot hold NUL; DRF refuses it in every field (400), which
                # the schema does not spell out on each string.
                "allow-x00": False,
            },
            "phases": {
                "coverage": {
                    "enabled": coverage,
                    # 405 with an Allow header is one rule for every view (DRF's APIView); two
                    # unexpected methods per operation show it without sending all eight.
                    "unexpected-methods": ["patch", "trace"],
                    "generate-duplicate-query-parameters": False,
                }
            },
            "operations": [
                {
                    "include-method": method,
                    "include-path": path,
                    "checks": {
                        "positive_data_acceptance": {"expected-statuses": [*POSITIVE, "400"]}
                    },
                }
                for method, path in ALSO_400
            ],
        }
    )


# The patient walks every operation through all phases: the schema's examples, the coverage
# phase (each boundary and each way to break each parameter) and random fuzzing. The
# clinician repeats examples and fuzzing (most operations are the patient's own and answer
# a documented 403; the clinician's own ones get the same checks).
PATIENT_CONFIG = _config(coverage=True)
CLINICIAN_CONFIG = _config(coverage=False)


@pytest.fixture
def wsgi_app(db, settings):
    """Django's WSGI application, sharing the test's database connection and transaction.

    A WSGI server closes old database connections at the start and end of each request; the
    test runs in one transaction on one connection, so (as Django's own test client does) the
    closing is switched off while the test calls the application.
    """
    # Wrong passwords are checked by the hasher on every try: a fast one for the test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _token_header(user, *, otp_verified: bool) -> dict:
    _, raw = api_token_issue(user=user, otp_verified=otp_verified)
    return {"Authorization": f"Token {raw}"}


@pytest.fixture
def alice_shares_with_carol(db, patient_alice, clinician_carol):
    """Something to read: a diary day of Alice's, shared with Dr Carol."""
    entry_save(patient=patient_alice, entry_date=patient_today(patient_alice), values=DAY)
    grant_create(
        patient=patient_alice, clinician_email=clinician_carol.email, scopes=list(ShareScope.values)
    )


@pytest.fixture
def patient_schema(wsgi_app, patient_alice, alice_shares_with_carol):
    headers = _token_header(patient_alice, otp_verified=False)
    return schemathesis.openapi.from_wsgi(
        "/api/v1/schema/", wsgi_app, headers=headers, config=PATIENT_CONFIG
    )


@pytest.fixture
def clinician_schema(wsgi_app, clinician_carol, alice_shares_with_carol):
    confirmed_totp(clinician_carol)
    headers = _token_header(clinician_carol, otp_verified=True)
    return schemathesis.openapi.from_wsgi(
        "/api/v1/schema/", wsgi_app, headers=headers, config=CLINICIAN_CONFIG
    )


as_patient = schemathesis.pytest.from_fixture("patient_schema")
as_clinician = schemathesis.pytest.from_fixture("clinician_schema")


def _call(case, user, *, otp_verified: bool):
    # A fresh token per case: DELETE /auth/token/ revokes the one it is sent with. The cache
    # (throttle and lockout counters) starts empty, so every case meets the endpoint itself.
    clear_own_cache()
    headers = _token_header(user, otp_verified=otp_verified)
    # The in-process WSGI transport hands back the body as sent: ask for it uncompressed.
    headers["Accept-Encoding"] = "identity"
    case.call_and_validate(headers=headers)


@as_patient.parametrize()
def test_api_keeps_its_contract_for_a_patient(case, patient_alice):
    _call(case, patient_alice, otp_verified=False)


@as_clinician.parametrize()
def test_api_keeps_its_contract_for_a_clinician(case, clinician_carol):
    _call(case, clinician_carol, otp_verified=True)
