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
