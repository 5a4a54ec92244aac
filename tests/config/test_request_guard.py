"""A NUL byte anywhere a client controls (path, query, form body) is a 400, never a 500."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD
from tests.personas import login_verified

NUL_PATHS = [
    "/api/v1/exports/runs/1/files/manifest.json%00",
    "/consent/invitations/%00/",
    "/diary/day/%00/",
    "/diary/%00",
    "/static/%00.css",
    "/fhir/Group/%00/$export",
    "/accounts/login/%00",
    "/%00",
]


@pytest.fixture
def client_quiet(client):
    client.raise_request_exception = False
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("path", NUL_PATHS)
def test_nul_in_path_is_a_400_for_anonymous(client_quiet, path):
    response = client_quiet.get(path)
    assert response.status_code == 400
    assert b"NUL" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("path", NUL_PATHS)
def test_nul_in_path_is_a_400_for_signed_in_people(
    client_quiet, path, patient_alice, researcher_rita
):
    client_quiet.force_login(patient_alice)
    assert client_quiet.get(path).status_code == 400
    login_verified(client_quiet, researcher_rita)
    assert client_quiet.get(path).status_code == 400


@pytest.mark.django_db
def test_api_refusal_is_json_with_a_message(client_quiet, patient_alice):
    client_quiet.force_login(patient_alice)
    response = client_quiet.get("/api/v1/entries/%00/")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "NUL" in response.json()["detail"]
    # The refusal still carries the security headers.
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query", ["?from=%00", "?from=2024-01-01&to=2024-01-0%00", "?%00=1", "?page=1%00"]
)
def test_nul_in_query_string_is_a_400(client_quiet, patient_alice, query):
    client_quiet.force_login(patient_alice)
    response = client_quiet.get("/api/v1/entries/" + query)
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]


@pytest.mark.django_db
def test_nul_in_a_form_is_a_400_and_changes_nothing(client_quiet, patient_alice):
    client_quiet.force_login(patient_alice)
    response = client_quiet.post(
        "/accounts/settings/profile/",
        "display_name=Al%00ice&time_zone=Europe%2FLondon",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert b"NUL" in response.content
    patient_alice.refresh_from_db()
    assert patient_alice.display_name == "Alice"


@pytest.mark.django_db
def test_nul_in_the_login_form_is_a_400(client_quiet, patient_alice):
    response = client_quiet.post(
        "/accounts/login/",
        f"login=alice%40example.org%00&password={PASSWORD.replace(' ', '+')}",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert "_auth_user_id" not in client_quiet.session
    # Multipart forms reach the form, whose fields refuse NUL themselves.
    response = client_quiet.post(
        "/accounts/login/", {"login": patient_alice.email + "\x00", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert b"Null characters are not allowed" in response.content
    assert "_auth_user_id" not in client_quiet.session


@pytest.mark.django_db
def test_ordinary_requests_pass_the_guard(client, patient_alice):
    client.force_login(patient_alice)
    assert client.get("/api/v1/entries/?from=2024-01-01").status_code == 200
    response = client.post(
        "/accounts/settings/profile/",
        {"display_name": "Alice B", "time_zone": "Europe/London"},
    )
    assert response.status_code == 302
    patient_alice.refresh_from_db()
    assert patient_alice.display_name == "Alice B"
