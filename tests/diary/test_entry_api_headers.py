"""PUT /api/v1/entries/<date>/ with Idempotency-Key (applied once, per patient) and If-Match
(412 with the current version), both in the OpenAPI schema."""

from __future__ import annotations

import pytest
import yaml

from diary import selectors
from diary.models import SaveReceipt
from diary.selectors import patient_today
from tests.diary.conftest import day_values, save_day

pytestmark = pytest.mark.django_db


def url(day) -> str:
    return f"/api/v1/entries/{day.isoformat()}/"


def test_a_retried_put_with_the_same_key_is_applied_once(alice_api, patient_alice):
    today = patient_today(patient_alice)
    first = alice_api.put(
        url(today), day_values(fatigue=3), format="json", HTTP_IDEMPOTENCY_KEY="r1"
    )
    assert first.status_code == 201 and first["ETag"]
    again = alice_api.put(
        url(today), day_values(fatigue=8), format="json", HTTP_IDEMPOTENCY_KEY="r1"
    )
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["fatigue"] == 3
    assert selectors.entry_on(patient=patient_alice, day=today).fatigue == 3
    assert again["ETag"] == first["ETag"]
    # A new key is a new save.
    third = alice_api.put(
        url(today), day_values(fatigue=8), format="json", HTTP_IDEMPOTENCY_KEY="r2"
    )
    assert third.status_code == 200 and third.json()["fatigue"] == 8


def test_keys_do_not_collide_across_patients(alice_api, bob_api, patient_alice, patient_bob):
    for api, patient in ((alice_api, patient_alice), (bob_api, patient_bob)):
        response = api.put(
            url(patient_today(patient)), day_values(), format="json", HTTP_IDEMPOTENCY_KEY="same"
        )
        assert response.status_code == 201
        assert "Idempotent-Replayed" not in response
    assert SaveReceipt.objects.filter(key="same").count() == 2


def test_an_oversized_key_is_400(alice_api, patient_alice):
    today = patient_today(patient_alice)
    response = alice_api.put(url(today), day_values(), format="json", HTTP_IDEMPOTENCY_KEY="k" * 65)
    assert response.status_code == 400
    assert "idempotency_key" in response.json()
    assert selectors.entry_on(patient=patient_alice, day=today) is None


def test_if_match_with_the_current_etag_saves(alice_api, patient_alice):
    entry = save_day(patient_alice, fatigue=1)
    etag = alice_api.get(url(entry.date))["ETag"]
    assert etag == f'"{selectors.day_version(patient=patient_alice, day=entry.date)}"'
    response = alice_api.put(
        url(entry.date), day_values(fatigue=6), format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 200 and response["ETag"] != etag
    assert selectors.entry_on(patient=patient_alice, day=entry.date).fatigue == 6


def test_a_stale_if_match_is_412_with_the_current_version(alice_api, patient_alice):
    entry = save_day(patient_alice, fatigue=1)
    stale = alice_api.get(url(entry.date))["ETag"]
    save_day(patient_alice, fatigue=2)  # changed elsewhere
    response = alice_api.put(
        url(entry.date), day_values(fatigue=9), format="json", HTTP_IF_MATCH=stale
    )
    assert response.status_code == 412
    current = selectors.day_version(patient=patient_alice, day=entry.date)
    assert response.json()["version"] == current
    assert response["ETag"] == f'"{current}"'
    assert selectors.entry_on(patient=patient_alice, day=entry.date).fatigue == 2


def test_if_match_star_needs_an_existing_day(alice_api, patient_alice):
    today = patient_today(patient_alice)
    response = alice_api.put(url(today), day_values(), format="json", HTTP_IF_MATCH="*")
    assert response.status_code == 412
    assert selectors.entry_on(patient=patient_alice, day=today) is None
    save_day(patient_alice)
    assert (
        alice_api.put(url(today), day_values(), format="json", HTTP_IF_MATCH="*").status_code == 200
    )


def test_the_schema_documents_both_headers(alice_api):
    schema = yaml.safe_load(alice_api.get("/api/v1/schema/").content)
    put = schema["paths"]["/api/v1/entries/{day}/"]["put"]
    headers = {p["name"] for p in put["parameters"] if p["in"] == "header"}
    assert {"Idempotency-Key", "If-Match"} <= headers
    assert "412" in put["responses"]
