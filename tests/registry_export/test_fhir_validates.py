"""Every NDJSON line is a valid FHIR resource.

fhir.resources 8.x ships R5 as its default package and R4B (4.3.0) beside it, but no R4 (4.0.1)
package any more; the last R4-default release (6.x) needs pydantic 1. R4B is R4's compatible
update and its Patient, Observation, QuestionnaireResponse, MedicationStatement and Consent are
structurally R4's, so the lines are validated with fhir.resources.R4B.
"""

from __future__ import annotations

import importlib
import json

import pytest
from django.conf import settings

from consent.models import ConsentScope
from registry_export import services
from registry_export.formats.fhir import RESOURCE_FILES
from registry_export.formats.vocabulary import NHS_NUMBER_SYSTEM, SYMPTOM_CODE_SYSTEM
from tests.factories import PatientFactory
from tests.registry_export.conftest import (
    VALID_NHS_NUMBERS,
    give_consent,
    read_files,
    run_now,
    write_diary,
)


def r4b_model(resource_type: str):
    module = importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}")
    return getattr(module, resource_type)


@pytest.mark.django_db
def test_every_line_validates_against_the_fhir_r4b_models(cohort, destination):
    run = run_now(destination)
    files = read_files(run)
    seen = 0
    for resource_type, name in RESOURCE_FILES.items():
        model = r4b_model(resource_type)
        for line in files[name].splitlines():
            data = json.loads(line)
            assert data["resourceType"] == resource_type
            model.model_validate(data)  # raises on any invalid element
            seen += 1
    assert seen > 4 * 8 * 7


@pytest.mark.django_db
def test_symptom_observations_use_the_project_code_system_and_recorded_status(cohort, destination):
    from diary import services as diary_services
    from diary.selectors import entries_between

    patient = cohort[0]
    first = entries_between(patient=patient, date_from=None, date_to=None)[0]
    values = first.values()
    values["fatigue"] = 10
    diary_services.entry_save(patient=patient, entry_date=first.date, values=values)
    run = run_now(destination)
    lines = [json.loads(x) for x in read_files(run)["Observation.ndjson"].splitlines()]
    symptoms = [o for o in lines if o["code"]["coding"][0]["system"] == SYMPTOM_CODE_SYSTEM]
    assert {o["status"] for o in symptoms} == {"final", "amended"}
    amended = [o for o in symptoms if o["status"] == "amended"]
    assert {o["effectiveDateTime"] for o in amended} == {first.date.isoformat()}
    fatigue = [o for o in amended if o["code"]["coding"][0]["code"] == "fatigue"]
    assert fatigue[0]["valueInteger"] == 10
    assert SYMPTOM_CODE_SYSTEM.startswith(f"{settings.FHIR_CANONICAL_BASE}/CodeSystem/")
    assert "example.org" not in SYMPTOM_CODE_SYSTEM
    totals = [o for o in lines if o["code"]["coding"][0]["code"] == "esspri-score"]
    assert len(totals) == 1 and totals[0]["valueQuantity"]["value"] == 5.0
    assert totals[0]["derivedFrom"][0]["reference"].startswith("QuestionnaireResponse/")


@pytest.mark.django_db
def test_nhs_numbers_only_in_a_linkage_destination_with_linkage_consent(cohort, destination):
    linked = PatientFactory()
    write_diary(linked, days=3)
    give_consent(linked, ConsentScope.NHS_LINKAGE, nhs_number=VALID_NHS_NUMBERS[0])
    give_consent(linked, ConsentScope.REGISTRY_SHARING, destination.registry)
    linkage = services.destination_create(
        name="NHS linkage", formats=["fhir", "redcap"], consent_scope=ConsentScope.NHS_LINKAGE
    )
    registry_files = b"".join(read_files(run_now(destination)).values())
    assert VALID_NHS_NUMBERS[0].encode() not in registry_files
    assert NHS_NUMBER_SYSTEM.encode() not in registry_files

    files = read_files(run_now(linkage))
    patients = [json.loads(x) for x in files["Patient.ndjson"].splitlines()]
    assert len(patients) == 1  # only the patient with linkage consent
    assert {"system": NHS_NUMBER_SYSTEM, "value": VALID_NHS_NUMBERS[0]} in patients[0]["identifier"]
    assert VALID_NHS_NUMBERS[0] in files["redcap_records.csv"].decode()
    assert "nhs_number" in files["redcap_data_dictionary.csv"].decode()


@pytest.mark.django_db
def test_pseudonyms_differ_between_destinations(cohort, destination, registry):
    other = services.destination_create(
        name="Second registry feed",
        formats=["fhir"],
        consent_scope=ConsentScope.REGISTRY_SHARING,
        registry=registry,
    )
    a = read_files(run_now(destination))["Patient.ndjson"]
    b = read_files(run_now(other))["Patient.ndjson"]
    ids_a = {json.loads(x)["id"] for x in a.splitlines()}
    ids_b = {json.loads(x)["id"] for x in b.splitlines()}
    assert len(ids_a) == len(ids_b) == 4 and not ids_a & ids_b
