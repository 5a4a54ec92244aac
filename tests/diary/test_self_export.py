"""Download all my data: a zip of JSON, CSV and a FHIR R4 Bundle of the patient's own data."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle
from rest_framework.test import APIClient

from diary import services
from diary.models import DailyEntry
from tests.diary.conftest import save_day
from tests.personas import login_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_with_data(patient_alice):
    save_day(patient_alice, days_ago=1, note='line one, "quoted"\nline two', factors=[])
    entry = save_day(patient_alice, flare=True, factors=["stress", "travel"])
    med = services.medicine_add(
        patient=patient_alice,
        name="Hydroxychloroquine",
        dose="200",
        unit="mg",
        schedule="once_daily",
        start_date=entry.date,
    )
    services.dose_log_set(patient=patient_alice, medicine_id=med.id, day=entry.date, status="taken")
    services.questionnaire_response_save(
        patient=patient_alice,
        instrument="esspri",
        answers={"dryness": 5, "fatigue": 6, "pain": 4},
        score=5.0,
        period_start=entry.date,
        period_end=entry.date,
    )
    return patient_alice


def open_zip(response) -> zipfile.ZipFile:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(response.content))


def test_api_export_holds_json_csv_and_a_valid_fhir_bundle(alice_api, alice_with_data, patient_bob):
    save_day(patient_bob, note="bob's secret")
    archive = open_zip(alice_api.get("/api/v1/me/export/"))
    assert {
        "diary.json",
        "entries.csv",
        "medicines.csv",
        "doses.csv",
        "questionnaires.csv",
        "fhir_bundle.json",
    } <= set(archive.namelist())
    data = json.loads(archive.read("diary.json"))
    assert data["account"]["email"] == "alice@example.org"
    assert len(data["entries"]) == 2 and data["entries"][0]["note"].startswith("line one")
    assert data["medicines"][0]["name"] == "Hydroxychloroquine"
    assert data["doses"][0]["status"] == "taken"
    assert data["questionnaires"][0]["score"] == 5.0
    rows = list(csv.DictReader(io.StringIO(archive.read("entries.csv").decode())))
    assert rows[0]["note"] == 'line one, "quoted"\nline two'
    assert rows[1]["factors"] == "stress;travel"
    bundle = Bundle.model_validate(json.loads(archive.read("fhir_bundle.json")))
    kinds = [e.resource.get_resource_type() for e in bundle.entry]
    assert kinds.count("Observation") == 2
    assert {"Patient", "MedicationStatement", "QuestionnaireResponse"} <= set(kinds)
    assert b"bob's secret" not in b"".join(archive.read(n) for n in archive.namelist())


def test_web_download_from_settings(client, alice_with_data):
    client.force_login(alice_with_data)
    settings_page = client.get(reverse("account_settings")).content.decode()
    assert reverse("diary:my_data_export") in settings_page
    assert reverse("diary:account_delete") in settings_page
    assert reverse("consent:access_log") in settings_page  # who has viewed my data
    archive = open_zip(client.get(reverse("diary:my_data_export")))
    assert "fhir_bundle.json" in archive.namelist()


def test_amended_day_is_an_amended_observation(alice_api, patient_alice):
    save_day(patient_alice, days_ago=3)
    save_day(patient_alice, days_ago=3, fatigue=1)
    archive = open_zip(alice_api.get("/api/v1/me/export/"))
    bundle = json.loads(archive.read("fhir_bundle.json"))
    [obs] = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    assert obs["status"] == "amended"


def test_clinician_cannot_export_through_me(clinician_carol):
    api = APIClient()
    login_verified(api, clinician_carol)
    assert api.get("/api/v1/me/export/").status_code == 403


def test_anonymous_cannot_export(client):
    assert client.get(reverse("diary:my_data_export")).status_code == 302
    assert APIClient().get("/api/v1/me/export/").status_code in {401, 403}


def test_own_export_codes_medicines_and_leaves_not_applicable_unanswered(
    alice_api, alice_with_data
):
    entry_date = DailyEntry.objects.filter(patient=alice_with_data).latest("date").date
    osdi = {f"q{i}": 1 for i in range(1, 13)} | {"q9": "na"}
    services.questionnaire_response_save(
        patient=alice_with_data,
        instrument="osdi",
        answers=osdi,
        score=25.0,
        period_start=entry_date,
        period_end=entry_date,
    )
    archive = open_zip(alice_api.get("/api/v1/me/export/"))
    bundle = json.loads(archive.read("fhir_bundle.json"))
    Bundle.model_validate(bundle)
    resources = [e["resource"] for e in bundle["entry"]]
    [med] = [r for r in resources if r["resourceType"] == "MedicationStatement"]
    assert med["medicationCodeableConcept"]["text"] == "Hydroxychloroquine"
    assert med["medicationCodeableConcept"]["coding"][0]["code"] == "P01BA02"
    [response] = [r for r in resources if r.get("questionnaire", "").endswith("osdi")]
    q9 = [i for i in response["item"] if i["linkId"] == "q9"]
    assert q9 == [{"linkId": "q9"}]
