from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_no_page_loads_assets_from_another_origin(client):
    html = client.get("/").content.decode()
    assert "http://" not in html.replace("http://127.0.0.1", "")
    assert "https://" not in html


@pytest.mark.django_db
def test_forged_csrf_gets_a_clear_page_not_a_traceback(patient_alice):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/accounts/login/", {"login": patient_alice.email, "password": "whatever"}
    )
    assert response.status_code == 403
    assert b"This form has expired" in response.content
    assert b"Traceback" not in response.content


@pytest.mark.django_db
def test_every_response_has_a_request_id(client):
    response = client.get("/", HTTP_X_REQUEST_ID="abcdef123456")
    assert response["X-Request-ID"] == "abcdef123456"
    response = client.get("/", HTTP_X_REQUEST_ID="bad id with spaces")
    assert response["X-Request-ID"] != "bad id with spaces"
    assert len(response["X-Request-ID"]) == 32


# --- Permissions-Policy everywhere, no-store on everything personal --------------------------


def _policy(response) -> dict[str, str]:
    return dict(item.strip().split("=", 1) for item in response["Permissions-Policy"].split(","))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/", "/accounts/login/", "/no-such-page/", "/api/v1/entries/", "/static/css/site.css", "/%00"],
)
def test_every_response_has_a_permissions_policy(client, path):
    client.raise_request_exception = False
    policy = _policy(client.get(path))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert policy[feature] == "()"


@pytest.mark.django_db
def test_static_files_keep_their_caching(client):
    response = client.get("/static/css/site.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


@pytest.mark.django_db
def test_api_responses_with_diary_data_are_no_store(patient_alice):
    from rest_framework.test import APIClient

    from accounts.services import api_token_issue

    _, raw = api_token_issue(user=patient_alice, otp_verified=False)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    created = api.post(
        "/api/v1/entries/",
        {
            "date": "2024-01-01",
            **dict.fromkeys(
                (
                    "dryness_eyes",
                    "dryness_mouth",
                    "dryness_skin",
                    "fatigue",
                    "muscle_pain",
                    "joint_pain",
                ),
                3,
            ),
        },
        format="json",
    )
    assert created.status_code == 201
    for path in ("/api/v1/entries/", "/api/v1/entries/2024-01-01/", "/api/v1/me/profile/"):
        response = api.get(path)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"], path
        assert "private" in response["Cache-Control"], path
    # Refusals too (a 401 to a token client is no business of a shared cache either).
    assert "no-store" in APIClient().get("/api/v1/entries/")["Cache-Control"]


@pytest.mark.django_db
def test_every_page_a_signed_in_patient_opens_is_no_store(client, patient_alice):
    from django.urls import reverse

    from tests.test_url_walker import SAMPLES, World, walk_routes

    client.raise_request_exception = False
    client.force_login(patient_alice)
    world = World(patient_alice, None, None, None, None)
    checked = 0
    for found in walk_routes():
        converters = found.pattern.pattern.converters
        if not found.pattern.name or found.key.startswith(("admin:", "bulk:")):
            continue
        if found.pattern.pattern.regex.groups and not converters:
            continue
        kwargs = {name: SAMPLES[type(c).__name__](world) for name, c in converters.items()}
        response = client.get(reverse(found.key, kwargs=kwargs))
        assert "no-store" in response.get("Cache-Control", ""), (found.key, response.status_code)
        checked += 1
    assert checked > 30
