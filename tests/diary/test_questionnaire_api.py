"""/api/v1/questionnaires/: answer, list, read; field-level 400s that store nothing; 404 for
someone else's response; patients only."""

from __future__ import annotations

import pytest
from django.db import connection
from rest_framework.test import APIClient

from diary.models import QuestionnaireResponse
from diary.selectors import questionnaire_get
from tests.personas import login_verified

pytestmark = pytest.mark.django_db

URL = "/api/v1/questionnaires/"
ESSPRI = {"instrument": "esspri", "answers": {"dryness": 5, "fatigue": 6, "pain": 7}}


def osdi(**overrides):
    answers = {f"q{n}": 2 for n in range(1, 13)}
    answers.update(overrides)
    return {"instrument": "osdi", "answers": answers}


def test_patient_answers_esspri_and_gets_the_mean_score(alice_api, patient_alice):
    response = alice_api.post(URL, ESSPRI, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["score"] == 6.0
    assert body["acceptable_state"] is False
    assert body["change"] is None
    assert body["answers"] == {"dryness": 5, "fatigue": 6, "pain": 7}
    assert response["Location"] == f"{URL}{body['id']}/"
    stored = QuestionnaireResponse.objects.get(patient=patient_alice)
    assert stored.instrument == "esspri"
    assert questionnaire_get(patient=patient_alice, response_id=stored.id).score == 6.0
    assert (stored.period_end - stored.period_start).days == 13  # the last 2 weeks


def test_answers_are_stored_encrypted(alice_api):
    assert alice_api.post(URL, osdi(q7="na", q6=3), format="json").status_code == 201
    with connection.cursor() as cursor:
        cursor.execute("SELECT payload FROM diary_questionnaireresponse")
        (blob,) = cursor.fetchone()
    assert b'"q7"' not in bytes(blob) and b'"na"' not in bytes(blob)


def test_osdi_not_applicable_items_and_severity_band(alice_api):
    body = osdi(q10="na", q11="na", q12="na")
    response = alice_api.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["score"] == 50.0  # 9 answered, sum 18
    assert response.json()["band"] == "severe"
    assert response.json()["answers"]["q12"] == "na"


def test_eq5d_stores_the_profile_and_vas(alice_api):
    body = {
        "instrument": "eq5d5l",
        "answers": {"MO": 1, "SC": 1, "UA": 2, "PD": 1, "AD": 3, "VAS": 65},
    }
    response = alice_api.post(URL, body, format="json")
    assert response.status_code == 201
    assert response.json()["profile"] == "11213"
    assert response.json()["score"] == 65.0


def test_unknown_instrument_is_400_and_stores_nothing(alice_api):
    response = alice_api.post(URL, {"instrument": "sf36", "answers": {}}, format="json")
    assert response.status_code == 400
    assert "Unknown instrument" in response.json()["instrument"][0]
    assert not QuestionnaireResponse.objects.exists()


def test_missing_and_out_of_range_items_are_400_per_item(alice_api):
    response = alice_api.post(
        URL, {"instrument": "esspri", "answers": {"dryness": 11, "pain": -1}}, format="json"
    )
    assert response.status_code == 400
    answers = response.json()["answers"]
    assert answers["dryness"] == ["Must be from 0 to 10."]
    assert answers["fatigue"] == ["This item is required."]
    assert answers["pain"] == ["Must be from 0 to 10."]
    assert not QuestionnaireResponse.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"instrument": "esspri", "answers": [5, 6, 7]}, "answers"),
        ({"answers": {"dryness": 1}}, "instrument"),
        ({"instrument": "esspri"}, "answers"),
        (osdi(q1="na"), "answers"),  # items 1-5 have no "not applicable"
        (osdi(q13=1), "answers"),
    ],
)
def test_malformed_bodies_are_400_and_store_nothing(alice_api, body, field):
    response = alice_api.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not QuestionnaireResponse.objects.exists()


def test_malformed_json_is_400(alice_api):
    response = alice_api.post(URL, data="{nope", content_type="application/json")
    assert response.status_code == 400
    assert not QuestionnaireResponse.objects.exists()


def test_list_filters_by_instrument_and_flags_meaningful_change(alice_api):
    alice_api.post(URL, ESSPRI, format="json")  # 6.0
    alice_api.post(URL, osdi(), format="json")
    better = {"instrument": "esspri", "answers": {"dryness": 4, "fatigue": 5, "pain": 6}}
    alice_api.post(URL, better, format="json")  # 5.0: a fall of 1 point
    response = alice_api.get(URL, {"instrument": "esspri"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["score"] for r in results] == [5.0, 6.0]  # newest first
    assert results[0]["change"] == "improved"
    assert results[0]["previous_score"] == 6.0
    assert response.json()["count"] == 2


def test_list_refuses_an_unknown_instrument_filter(alice_api):
    response = alice_api.get(URL, {"instrument": "nope"})
    assert response.status_code == 400
    assert "instrument" in response.json()


def test_a_patient_reads_their_own_response_but_not_someone_elses(alice_api, bob_api):
    created = alice_api.post(URL, ESSPRI, format="json").json()
    own = alice_api.get(f"{URL}{created['id']}/")
    assert own.status_code == 200
    assert own.json()["score"] == 6.0
    other = bob_api.get(f"{URL}{created['id']}/")
    assert other.status_code == 404
    assert bob_api.get(URL).json()["count"] == 0


def test_instruments_endpoint_lists_items_and_what_is_due(alice_api):
    alice_api.post(URL, ESSPRI, format="json")
    response = alice_api.get(f"{URL}instruments/")
    assert response.status_code == 200
    by_code = {i["code"]: i for i in response.json()}
    assert list(by_code) == ["esspri", "osdi", "eq5d5l"]
    assert by_code["esspri"]["is_due"] is False
    assert by_code["osdi"]["is_due"] is True
    assert by_code["osdi"]["wording"] == "placeholder"
    q12 = by_code["osdi"]["items"][11]
    assert q12["choices"][-1] == {"value": "na", "label": "Not applicable"}


def test_clinicians_cannot_use_the_patient_questionnaire_api(clinician_carol):
    api = APIClient()
    login_verified(api, clinician_carol)
    assert api.get(URL).status_code == 403
    assert api.post(URL, ESSPRI, format="json").status_code == 403
    assert not QuestionnaireResponse.objects.exists()


def test_anonymous_requests_are_refused():
    api = APIClient()
    assert api.get(URL).status_code in (401, 403)
    assert api.post(URL, ESSPRI, format="json").status_code in (401, 403)
