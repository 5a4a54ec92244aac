"""The API's refusals are what its schema says (issue 16): JSON bodies, documented codes."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from diary.selectors import patient_today

pytestmark = pytest.mark.django_db

DAY = {
    "dryness_eyes": 1,
    "dryness_mouth": 2,
    "dryness_skin": 3,
    "fatigue": 4,
    "muscle_pain": 5,
    "joint_pain": 6,
    "flare": False,
    "factors": [],
    "note": "",
}


@pytest.fixture
def alice_api(patient_alice):
    client = APIClient()
    client.force_authenticate(patient_alice)
    return client


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_every_refusal_is_documented_with_the_error_bodies(schema):
    assert {"Error", "ValidationError"} <= set(schema["components"]["schemas"])
    for method, path, operation in _operations(schema):
        responses = operation["responses"]
        if path != "/api/v1/auth/token/" or method != "POST":
            assert {"401", "403"} <= set(responses), (method, path)
        assert "429" in responses, (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= set(responses), (method, path)
        for code, response in responses.items():
            if code.startswith("4"):
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.rsplit("/", 1)[1] in {"Error", "ValidationError"} or code in {
                    "409",
                    "412",
                }, (method, path, code)


UPLOADS = {"/api/v1/imaging/studies/", "/api/v1/imaging/mri/studies/"}


def test_request_bodies_are_documented_as_json_except_uploads(schema):
    for method, path, operation in _operations(schema):
        content = operation.get("requestBody", {}).get("content", {})
        if path in UPLOADS and method == "POST":
            assert list(content) == ["multipart/form-data"]
        elif content:
            assert list(content) == ["application/json"], (method, path)


def test_deletes_that_read_a_body_document_it(schema):
    erase = schema["paths"]["/api/v1/me/"]["delete"]
    ref = erase["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert body["required"] == ["password"]
    # A DELETE without a body documents none.
    assert "requestBody" not in schema["paths"]["/api/v1/entries/{day}/"]["delete"]


def test_an_unknown_api_address_answers_json_404_and_a_page_stays_html(alice_api, client):
    response = alice_api.get("/api/v1/entries/not-a-date/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "could not find that page" in response.json()["detail"]
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("size", ["abc", "0", "-1", "1001", ""])
def test_a_malformed_page_size_is_a_400(alice_api, size):
    response = alice_api.get("/api/v1/entries/", {"page_size": size})
    assert response.status_code == 400
    assert "page_size" in response.json()


def test_a_page_size_in_range_is_used(alice_api, patient_alice):
    response = alice_api.get("/api/v1/entries/", {"page_size": "5"})
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_an_empty_period_bound_is_a_400(alice_api):
    response = alice_api.get("/api/v1/medicines/adherence/", {"to": ""})
    assert response.status_code == 400
    assert "to" in response.json()


def test_a_number_where_the_schema_says_text_is_refused_and_nothing_is_stored(
    alice_api, patient_alice
):
    day = patient_today(patient_alice).isoformat()
    refused = alice_api.post("/api/v1/entries/", {**DAY, "date": day, "note": 0}, format="json")
    assert refused.status_code == 400
    assert "note" in refused.json()
    assert alice_api.get(f"/api/v1/entries/{day}/").status_code == 404
    stored = alice_api.post("/api/v1/entries/", {**DAY, "date": day, "note": "0"}, format="json")
    assert stored.status_code == 201


def test_a_number_where_the_schema_says_true_or_false_is_refused(alice_api):
    body = {"enabled": 1, "time": "20:30", "days": [], "channels": []}
    response = alice_api.put("/api/v1/reminders/settings/", body, format="json")
    assert response.status_code == 400
    assert "enabled" in response.json()


def test_profile_values_outside_the_documented_choices_are_refused(alice_api, patient_alice):
    response = alice_api.patch(
        "/api/v1/me/profile/", {"text_size": 101, "time_zone": "Mars/Base"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"text_size", "time_zone"}
    patient_alice.refresh_from_db()
    assert patient_alice.text_size != 101
    ok = alice_api.patch("/api/v1/me/profile/", {"text_size": 130}, format="json")
    assert ok.status_code == 200
    assert ok.json()["text_size"] == 130
