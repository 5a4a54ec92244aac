"""What the exports say is coded and resolvable: EQ-5D-5L as five dimensions and the VAS (no
total), OSDI's "not applicable" as no answer, medicines as ATC codes without typed text, and the
project's Questionnaire and CodeSystem resources shipped in each run and served under /fhir/."""

from __future__ import annotations

import importlib
import json
from datetime import timedelta

import pytest
from django.conf import settings

from diary import services as diary_services
from diary.selectors import patient_today
from registry_export.formats import definitions
from registry_export.formats import redcap as redcap_format
from tests.registry_export import redcap_rules
from tests.registry_export.conftest import read_files, read_published, run_now
from tests.registry_export.test_redcap_import_rules import add_questionnaires

CANARY = "Dr Canary's special mix"


def r4b(resource_type: str):
    module = importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}")
    return getattr(module, resource_type)


def lines(files, name) -> list[dict]:
    return [json.loads(x) for x in files[name].splitlines()]


def add_other_medicine(patient) -> None:
    diary_services.medicine_add(
        patient=patient,
        code="other",
        name=CANARY,
        dose="two puffs",
        unit="squirts",
        schedule="as_needed",
        start_date=patient_today(patient) - timedelta(days=5),
    )


@pytest.mark.django_db
def test_eq5d5l_is_five_dimension_levels_and_the_vas_never_a_total(cohort, destination):
    add_questionnaires(cohort[0])
    files = read_files(run_now(destination))
    observations = lines(files, "Observation.ndjson")
    eq = {
        o["code"]["coding"][0]["code"]: o
        for o in observations
        if o["code"]["coding"][0]["code"].startswith("eq5d5l")
    }
    assert sorted(eq) == sorted(
        ["eq5d5l-mo", "eq5d5l-sc", "eq5d5l-ua", "eq5d5l-pd", "eq5d5l-ad", "eq5d5l-vas"]
    )
    assert [eq[f"eq5d5l-{d}"]["valueInteger"] for d in ("mo", "sc", "ua", "pd", "ad")] == [
        2,
        1,
        3,
        4,
        1,
    ]
    assert eq["eq5d5l-vas"]["valueInteger"] == 65
    assert eq["eq5d5l-vas"]["code"]["coding"][0]["display"].startswith("EQ VAS")
    assert not any("total" in o["code"]["coding"][0].get("display", "") for o in eq.values())
    assert len({o["id"] for o in eq.values()}) == 6
    for o in eq.values():
        r4b("Observation").model_validate(o)


@pytest.mark.django_db
def test_osdi_not_applicable_is_an_absent_answer(cohort, destination):
    add_questionnaires(cohort[0])
    files = read_files(run_now(destination))
    osdi = [
        r
        for r in lines(files, "QuestionnaireResponse.ndjson")
        if r["questionnaire"].endswith("osdi")
    ]
    assert len(osdi) == 2
    for response in osdi:
        r4b("QuestionnaireResponse").model_validate(response)
        answers = [a for item in response["item"] for a in item["answer"]]
        assert all(set(a) == {"valueInteger"} for a in answers)
    assert {i["linkId"] for i in osdi[0]["item"]} == {f"q{i}" for i in range(1, 13)} - {"q7", "q11"}
    assert b'"na"' not in files["QuestionnaireResponse.ndjson"]


@pytest.mark.django_db
def test_medicines_leave_as_codes_strength_and_frequency_only(cohort, destination):
    add_other_medicine(cohort[0])
    run = run_now(destination)
    files = read_files(run)
    blob = b"".join(read_published(run).values())
    for typed in (CANARY, "two puffs", "squirts"):
        assert typed.encode() not in blob
    statements = lines(files, "MedicationStatement.ndjson")
    for s in statements:
        r4b("MedicationStatement").model_validate(s)
        assert "text" not in s["medicationCodeableConcept"]
    codings = {s["medicationCodeableConcept"]["coding"][0]["code"]: s for s in statements}
    hcq = codings["P01BA02"]
    assert hcq["medicationCodeableConcept"]["coding"][0]["system"] == "http://www.whocc.no/atc"
    dose = hcq["dosage"][0]["doseAndRate"][0]["doseQuantity"]
    assert dose == {
        "value": 200,
        "unit": "milligram",
        "system": "http://unitsofmeasure.org",
        "code": "mg",
    }
    assert hcq["dosage"][0]["timing"]["repeat"] == {"frequency": 2, "period": 1, "periodUnit": "d"}
    other = codings["other"]
    assert other["dosage"][0].get("asNeededBoolean") is True
    assert "doseAndRate" not in other["dosage"][0]
    fields = redcap_rules.check_dictionary(files[redcap_format.DICTIONARY_FILE])
    records = redcap_rules.check_records(
        files[redcap_format.RECORDS_FILE],
        fields,
        set(redcap_format.repeating_forms()),
    )
    meds = [r for r in records if r["redcap_repeat_instrument"] == "medication"]
    assert sorted((r["med_code"], r["med_strength"], r["med_unit"]) for r in meds) == [
        ("P01BA02", "200", "mg"),
        ("other", "", ""),
    ]


@pytest.mark.django_db
def test_each_fhir_run_ships_valid_questionnaires_and_code_systems_that_resolve(
    cohort, destination
):
    add_questionnaires(cohort[0])
    add_other_medicine(cohort[0])
    run = run_now(destination)
    files = read_files(run)
    manifest = json.loads(read_published(run)["manifest.json"])
    shipped = {f["name"]: f for f in manifest["files"] if f["format"] == "fhir-definitions"}
    assert set(shipped) == {"Questionnaire.ndjson", "CodeSystem.ndjson"}
    questionnaires = lines(files, "Questionnaire.ndjson")
    code_systems = lines(files, "CodeSystem.ndjson")
    for q in questionnaires:
        r4b("Questionnaire").model_validate(q)
    for cs in code_systems:
        r4b("CodeSystem").model_validate(cs)
    base = settings.FHIR_CANONICAL_BASE
    assert "example.org" not in base
    concepts = {(cs["url"], c["code"]) for cs in code_systems for c in cs["concept"]}
    local_codings = [
        coding
        for name in ("Observation.ndjson", "MedicationStatement.ndjson")
        for resource in lines(files, name)
        for coding in _codings(resource)
        if coding["system"].startswith(base)
    ]
    assert local_codings
    for coding in local_codings:
        assert (coding["system"], coding["code"]) in concepts, coding
    items = {q["url"]: {i["linkId"] for i in q["item"]} for q in questionnaires}
    for response in lines(files, "QuestionnaireResponse.ndjson"):
        assert response["questionnaire"] in items
        assert {i["linkId"] for i in response.get("item", [])} <= items[response["questionnaire"]]


def _codings(value):
    if isinstance(value, dict):
        if "system" in value and "code" in value:
            yield value
        for v in value.values():
            yield from _codings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _codings(v)


@pytest.mark.django_db
def test_definitions_are_served_at_their_canonical_urls(client):
    for q in definitions.questionnaires():
        path = q["url"].removeprefix(settings.FHIR_CANONICAL_BASE)
        response = client.get(f"/fhir{path}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/fhir+json")
        assert response.json() == q
    (cs,) = [c for c in definitions.code_systems() if c["id"] == "diary-factors"]
    response = client.get("/fhir/CodeSystem", {"url": cs["url"]})
    bundle = response.json()
    assert bundle["type"] == "searchset" and bundle["total"] == 1
    r4b("Bundle").model_validate(bundle)
    assert bundle["entry"][0]["resource"] == cs
    assert client.get("/fhir/CodeSystem").json()["total"] == len(definitions.code_systems())


@pytest.mark.django_db
def test_unknown_definitions_and_bad_requests_are_refused_with_an_outcome(client):
    missing = client.get("/fhir/Questionnaire/nope")
    assert missing.status_code == 404
    assert missing.json()["resourceType"] == "OperationOutcome"
    bad = client.get("/fhir/CodeSystem", {"name": "x"})
    assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"
    assert client.post("/fhir/Questionnaire/esspri").status_code == 405
