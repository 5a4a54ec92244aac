"""JSON nested thousands of levels deep, or too large, is a 4xx with a message on every endpoint
that reads JSON (the API, the anonymous token endpoints, FHIR Bulk Data), never a 500."""

from __future__ import annotations

import base64
import json

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.request_limits import MAX_JSON_DEPTH, json_depth_exceeds, json_loads
from diary.models import DailyEntry, Medicine
from tests.factories import PASSWORD
from tests.personas import login_verified
from tests.registry_export.bulk_helpers import ASSERTION_TYPE, FHIR, KICKOFF_HEADERS
from tests.test_url_walker import SAMPLES, World, walk_routes

DEEP_ARRAY = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a":' * 5000 + "1" + "}" * 5000
TOO_DEEP = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
# Deep enough to crash Python's json (about 1,000 levels), short enough for a JWT's length limit.
JWT_DEEP_ARRAY = "[" * 2000 + "]" * 2000
JWT_DEEP_OBJECT = '{"a":' * 1500 + "1" + "}" * 1500
DEEP_MESSAGE = f"nested more than {MAX_JSON_DEPTH} levels"


def _api():
    client = APIClient()
    client.raise_request_exception = False
    return client


def test_depth_check_is_iterative_and_exact():
    assert not json_depth_exceeds(json.loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH), 32)
    assert json_depth_exceeds(json.loads(TOO_DEEP), MAX_JSON_DEPTH)
    assert json_loads(b'{"a": [1, {"b": "[[[[[[[["}]}') == {"a": [1, {"b": "[[[[[[[["}]}
    with pytest.raises(ValueError, match=DEEP_MESSAGE):
        json_loads(DEEP_ARRAY)
    with pytest.raises(ValueError, match=DEEP_MESSAGE):
        json_loads(DEEP_OBJECT)


@pytest.mark.django_db
@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT, TOO_DEEP], ids=["array", "obj", "33"])
def test_anonymous_token_endpoint_answers_400_with_a_message(body):
    response = _api().post("/api/v1/auth/token/", body, content_type="application/json")
    assert response.status_code == 400
    assert DEEP_MESSAGE in response.json()["detail"]
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_patient_endpoints_answer_400_and_store_nothing(patient_alice):
    client = _api()
    client.force_authenticate(patient_alice)
    for method, url in [
        ("post", "/api/v1/entries/"),
        ("put", "/api/v1/entries/2024-01-01/"),
        ("patch", "/api/v1/me/profile/"),
        ("post", "/api/v1/medicines/"),
        ("post", "/api/v1/doses/"),
        ("delete", "/api/v1/me/"),
    ]:
        response = getattr(client, method)(url, DEEP_OBJECT, content_type="application/json")
        assert response.status_code == 400, (method, url, response.status_code)
        assert DEEP_MESSAGE in response.json()["detail"], (method, url)
    assert not DailyEntry.objects.exists() and not Medicine.objects.exists()
    patient_alice.refresh_from_db()
    assert patient_alice.is_active


@pytest.mark.django_db
def test_a_body_over_the_size_limit_is_a_413(patient_alice, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = _api()
    body = json.dumps({"email": "a@example.org", "password": "x" * 2000})
    response = client.post("/api/v1/auth/token/", body, content_type="application/json")
    assert response.status_code == 413
    assert "larger than 1000 bytes" in response.json()["detail"]
    client.force_authenticate(patient_alice)
    response = client.post("/api/v1/entries/", body, content_type="application/json")
    assert response.status_code == 413
    assert not DailyEntry.objects.exists()


@pytest.mark.django_db
def test_an_ordinary_json_body_still_works(patient_alice):
    response = _api().post(
        "/api/v1/auth/token/",
        {"email": patient_alice.email, "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 201


RS384_HEADER = '{"alg": "RS384"}'


def _b64(data: str) -> str:
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "assertion",
    [
        f"{_b64(JWT_DEEP_ARRAY)}.{_b64('{}')}.c2ln",
        f"{_b64('{}')}.{_b64(JWT_DEEP_OBJECT)}.c2ln",
        f"{_b64(RS384_HEADER)}.{_b64(TOO_DEEP)}.c2ln",
    ],
    ids=["header", "payload", "33"],
)
def test_bulk_token_endpoint_refuses_a_deep_assertion_with_an_oauth_error(client, assertion):
    client.raise_request_exception = False
    response = client.post(
        f"{FHIR}auth/token",
        {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert DEEP_MESSAGE in response.json()["error_description"]


@pytest.mark.django_db
def test_bulk_token_endpoint_refuses_an_overlong_assertion(client):
    response = client.post(
        f"{FHIR}auth/token",
        {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": "a" * 20_000,
        },
    )
    assert response.status_code == 400
    assert "too long" in response.json()["error_description"]


@pytest.mark.django_db
def test_bulk_kickoff_refuses_a_deep_body(client, monkeypatch):
    from registry_export.bulk import jobs

    with pytest.raises(jobs.BulkError, match=DEEP_MESSAGE):
        jobs.parameters_from_body(DEEP_OBJECT.encode())
    # Through the view, without a token: refused before the body is read, still no 500.
    client.raise_request_exception = False
    response = client.post(
        f"{FHIR}Group/x/$export",
        DEEP_OBJECT,
        content_type="application/fhir+json",
        **KICKOFF_HEADERS,
    )
    assert response.status_code == 401


def _sample_url(found, world) -> str | None:
    kwargs = {}
    for name, converter in found.pattern.pattern.converters.items():
        maker = SAMPLES.get(type(converter).__name__)
        if maker is None:
            return None
        kwargs[name] = maker(world)
    if not found.pattern.name:
        return None
    return reverse(found.key, kwargs=kwargs)


def _json_routes():
    for found in walk_routes():
        callback = found.pattern.callback
        if hasattr(callback, "cls") or found.key.startswith("bulk:"):
            yield found


@pytest.mark.django_db
def test_no_json_endpoint_answers_a_deep_body_with_a_server_error(
    patient_alice, clinician_carol, researcher_rita
):
    """Every API route, every body-carrying method, as anonymous, a patient, a verified
    clinician and a verified researcher: a 4xx (or a success that ignores the body)."""
    from django.test import Client

    world = World(patient_alice, None, clinician_carol, researcher_rita, None)
    clients = {"anonymous": _api(), "patient": _api()}
    clients["patient"].force_login(patient_alice)
    for name, user in (("clinician", clinician_carol), ("researcher", researcher_rita)):
        client = Client()
        login_verified(client, user)
        client.raise_request_exception = False
        clients[name] = client
    checked = 0
    for found in _json_routes():
        url = _sample_url(found, world)
        if url is None:
            continue
        for who, client in clients.items():
            for method in ("post", "put", "patch", "delete"):
                for body in (DEEP_ARRAY, DEEP_OBJECT):
                    response = getattr(client, method)(url, body, content_type="application/json")
                    assert response.status_code < 500, (found.key, who, method)
                    checked += 1
    assert checked > 100
