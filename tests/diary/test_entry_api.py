"""/api/v1/entries/: list, create (409 on a second), get/put/patch/delete, bad input, denial."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from diary import selectors
from diary.models import DailyEntry
from diary.selectors import patient_today
from tests.diary.conftest import day_values, save_day
from tests.personas import login_verified

pytestmark = pytest.mark.django_db


def body(day, **overrides) -> dict:
    return {"date": day.isoformat(), **day_values(**overrides)}


def test_create_then_get(alice_api, patient_alice):
    today = patient_today(patient_alice)
    response = alice_api.post("/api/v1/entries/", body(today, note="hi"), format="json")
    assert response.status_code == 201
    assert response["Location"] == f"/api/v1/entries/{today.isoformat()}/"
    got = alice_api.get(response["Location"]).json()
    assert got["note"] == "hi" and got["fatigue"] == 7 and got["amended_at"] is None
    assert set(got) >= {"dryness_eyes", "flare", "factors", "created_at"}
    assert "payload" not in got and "patient" not in got


def test_second_create_for_the_same_day_is_409_with_a_pointer(alice_api, patient_alice):
    first = save_day(patient_alice, note="first")
    response = alice_api.post("/api/v1/entries/", body(first.date, note="second"), format="json")
    assert response.status_code == 409
    url = f"/api/v1/entries/{first.date.isoformat()}/"
    assert response.json()["existing"] == url
    assert response["Location"] == url
    assert selectors.entry_on(patient=patient_alice, day=first.date).note == "first"


def test_list_filters_by_period_and_paginates(alice_api, patient_alice):
    for days_ago in range(5):
        save_day(patient_alice, days_ago=days_ago)
    today = patient_today(patient_alice)
    start = (today - timedelta(days=3)).isoformat()
    end = (today - timedelta(days=1)).isoformat()
    data = alice_api.get(f"/api/v1/entries/?from={start}&to={end}").json()
    assert data["count"] == 3
    assert [r["date"] for r in data["results"]] == sorted(r["date"] for r in data["results"])
    page = alice_api.get("/api/v1/entries/?page_size=2").json()
    assert len(page["results"]) == 2 and page["next"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("from=yesterday", "from"), ("to=2024-13-01", "to"), ("from=2024-05-02&to=2024-05-01", "to")],
)
def test_list_with_bad_period_is_400(alice_api, query, field):
    response = alice_api.get(f"/api/v1/entries/?{query}")
    assert response.status_code == 400
    assert field in response.json()


def test_put_replaces_and_marks_past_days_as_amended(alice_api, patient_alice):
    entry = save_day(patient_alice, days_ago=2)
    url = f"/api/v1/entries/{entry.date.isoformat()}/"
    response = alice_api.put(url, day_values(fatigue=0), format="json")
    assert response.status_code == 200
    assert response.json()["fatigue"] == 0
    assert response.json()["amended_at"] is not None


def test_put_on_an_empty_past_day_fills_it_in(alice_api, patient_alice):
    day = patient_today(patient_alice) - timedelta(days=4)
    response = alice_api.put(f"/api/v1/entries/{day.isoformat()}/", day_values(), format="json")
    assert response.status_code == 201


def test_patch_changes_only_what_is_sent(alice_api, patient_alice):
    entry = save_day(patient_alice, note="keep me")
    url = f"/api/v1/entries/{entry.date.isoformat()}/"
    response = alice_api.patch(url, {"joint_pain": 9}, format="json")
    assert response.status_code == 200
    assert response.json()["joint_pain"] == 9 and response.json()["note"] == "keep me"


def test_delete(alice_api, patient_alice):
    entry = save_day(patient_alice)
    url = f"/api/v1/entries/{entry.date.isoformat()}/"
    assert alice_api.delete(url).status_code == 204
    assert alice_api.get(url).status_code == 404
    assert alice_api.delete(url).status_code == 404


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"fatigue": 11}, "fatigue"),
        ({"fatigue": -1}, "fatigue"),
        ({"fatigue": "5"}, "fatigue"),
        ({"fatigue": 2.5}, "fatigue"),
        ({"flare": "yes"}, "flare"),
        ({"factors": ["full moon"]}, "factors"),
        ({"note": "n" * 5001}, "note"),
    ],
)
def test_bad_values_are_400_per_field_and_nothing_changes(
    alice_api, patient_alice, overrides, field
):
    entry = save_day(patient_alice, note="before")
    url = f"/api/v1/entries/{entry.date.isoformat()}/"
    for method in (alice_api.put, alice_api.patch):
        response = method(url, day_values(**overrides), format="json")
        assert response.status_code == 400
        assert field in response.json()
    assert selectors.entry_on(patient=patient_alice, day=entry.date).note == "before"


def test_missing_scores_are_400(alice_api, patient_alice):
    data = body(patient_today(patient_alice))
    del data["dryness_eyes"]
    response = alice_api.post("/api/v1/entries/", data, format="json")
    assert response.status_code == 400
    assert "dryness_eyes" in response.json()
    assert not DailyEntry.objects.exists()


def test_future_date_is_400(alice_api, patient_alice):
    tomorrow = patient_today(patient_alice) + timedelta(days=1)
    response = alice_api.post("/api/v1/entries/", body(tomorrow), format="json")
    assert response.status_code == 400
    assert "date" in response.json()
    put = alice_api.put(f"/api/v1/entries/{tomorrow.isoformat()}/", day_values(), format="json")
    assert put.status_code == 400
    assert not DailyEntry.objects.exists()


def test_malformed_json_is_400(alice_api):
    response = alice_api.generic(
        "POST", "/api/v1/entries/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert not DailyEntry.objects.exists()


def test_someone_elses_day_is_404_and_untouched(bob_api, patient_alice):
    entry = save_day(patient_alice, note="alice only")
    url = f"/api/v1/entries/{entry.date.isoformat()}/"
    assert bob_api.get(url).status_code == 404
    assert bob_api.patch(url, {"fatigue": 0}, format="json").status_code == 404
    assert bob_api.delete(url).status_code == 404
    assert bob_api.get("/api/v1/entries/").json()["count"] == 0
    assert selectors.entry_on(patient=patient_alice, day=entry.date).note == "alice only"


def test_clinician_is_refused_with_403(clinician_carol, patient_alice):
    save_day(patient_alice)
    api = APIClient()
    login_verified(api, clinician_carol)
    assert api.get("/api/v1/entries/").status_code == 403
    today = patient_today(patient_alice).isoformat()
    assert api.get(f"/api/v1/entries/{today}/").status_code == 403


def test_anonymous_is_refused():
    api = APIClient()
    assert api.get("/api/v1/entries/").status_code in {401, 403}


def test_schema_lists_the_diary_endpoints(alice_api):
    response = alice_api.get("/api/v1/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    for path in ("/api/v1/entries/{day}/", "/api/v1/medicines/", "/api/v1/doses/", "/api/v1/me/"):
        assert path in text
