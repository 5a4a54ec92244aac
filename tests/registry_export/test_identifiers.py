"""What identifies a patient in a file: a pseudonym, an NHS number only for linkage with
linkage consent, and never more than the birth year."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pytest

from consent.models import ConsentScope
from registry_export import services
from registry_export.formats import PartFiles
from registry_export.formats.fhir import FhirWriter
from registry_export.formats.redcap import RECORDS_FILE, RedcapWriter, header_bytes
from registry_export.formats.vocabulary import NHS_NUMBER_SYSTEM
from registry_export.pseudonyms import Pseudonymiser
from registry_export.rows import ConsentRow, PatientData, PatientRow
from tests.factories import PatientFactory
from tests.registry_export.conftest import (
    VALID_NHS_NUMBERS,
    give_consent,
    read_files,
    run_now,
    withdraw_consent,
    write_diary,
)


@pytest.fixture
def linkage(db):
    return services.destination_create(
        name="NHS linkage", formats=["fhir", "redcap"], consent_scope=ConsentScope.NHS_LINKAGE
    )


@pytest.mark.django_db
def test_withdrawn_linkage_consent_removes_the_nhs_number_from_the_next_run(linkage):
    kept, left = PatientFactory(), PatientFactory()
    for n, p in enumerate((kept, left)):
        write_diary(p, days=2)
        give_consent(p, ConsentScope.NHS_LINKAGE, nhs_number=VALID_NHS_NUMBERS[n])
    first = b"".join(read_files(run_now(linkage)).values())
    assert VALID_NHS_NUMBERS[0].encode() in first and VALID_NHS_NUMBERS[1].encode() in first

    withdraw_consent(left, ConsentScope.NHS_LINKAGE)
    files = read_files(run_now(linkage))
    assert VALID_NHS_NUMBERS[1].encode() not in b"".join(files.values())
    assert VALID_NHS_NUMBERS[0].encode() in files["Patient.ndjson"]
    assert files["withdrawals.csv"].count(b"\r\n") == 2  # header + the one who left


@pytest.mark.django_db
def test_a_stored_nhs_number_without_linkage_consent_is_never_written(cohort, destination):
    from consent.services import nhs_number_set

    nhs_number_set(patient=cohort[0], nhs_number=VALID_NHS_NUMBERS[2])
    blob = b"".join(read_files(run_now(destination)).values())
    assert VALID_NHS_NUMBERS[2].encode() not in blob
    assert b"nhs_number" not in blob and NHS_NUMBER_SYSTEM.encode() not in blob


def one_patient(tmp_path, *, birth_year, linkage=False, nhs=None):
    files = PartFiles(tmp_path, ["Patient.ndjson", "Consent.ndjson", "Observation.ndjson",
                                 "QuestionnaireResponse.ndjson", "MedicationStatement.ndjson",
                                 RECORDS_FILE])  # fmt: skip
    ps = Pseudonymiser(b"k" * 32)
    data = PatientData(
        patient=PatientRow(patient_id=7, birth_year=birth_year, nhs_number=nhs),
        consent=ConsentRow(
            patient_id=7, scope="registry_sharing", given_at=datetime(2024, 5, 1, tzinfo=UTC)
        ),
    )
    for writer in (FhirWriter, RedcapWriter):
        writer(files, ps, as_of=date(2025, 1, 1), linkage=linkage).write(data)
    files.close()
    patient = json.loads((tmp_path / "Patient.ndjson").read_text())
    text = header_bytes(linkage=linkage).decode() + (tmp_path / RECORDS_FILE).read_text()
    return patient, next(csv.DictReader(io.StringIO(text)))


def test_only_the_birth_year_is_written(tmp_path):
    from fhir.resources.R4B.patient import Patient

    patient, record = one_patient(tmp_path, birth_year=1961)
    assert patient["birthDate"] == "1961"
    Patient.model_validate(patient)
    assert record["birth_year"] == "1961"
    assert "birth_date" not in record and "nhs_number" not in record


def test_an_nhs_number_reaches_only_a_linkage_destinations_writers(tmp_path):
    (tmp_path / "a").mkdir()
    patient, record = one_patient(tmp_path / "a", birth_year=None, nhs=VALID_NHS_NUMBERS[0])
    assert NHS_NUMBER_SYSTEM not in json.dumps(patient) and "nhs_number" not in record
    (tmp_path / "b").mkdir()
    patient, record = one_patient(
        tmp_path / "b", birth_year=None, linkage=True, nhs=VALID_NHS_NUMBERS[0]
    )
    assert {"system": NHS_NUMBER_SYSTEM, "value": VALID_NHS_NUMBERS[0]} in patient["identifier"]
    assert record["nhs_number"] == VALID_NHS_NUMBERS[0]


@pytest.mark.django_db
def test_a_run_writes_the_year_of_birth_the_patient_gave_and_nothing_for_others(
    registry, destination
):
    from accounts.services import profile_update

    with_year, without = PatientFactory(), PatientFactory()
    profile_update(user=with_year, birth_year=1961)
    for p in (with_year, without):
        write_diary(p, days=2)
        give_consent(p, ConsentScope.REGISTRY_SHARING, registry=registry)

    files = read_files(run_now(destination))

    patients = [json.loads(line) for line in files["Patient.ndjson"].splitlines()]
    assert sorted(p.get("birthDate", "-") for p in patients) == ["-", "1961"]
    records = list(csv.DictReader(io.StringIO(files[RECORDS_FILE].decode())))
    assert sorted(r["birth_year"] for r in records if r["birth_year"]) == ["1961"]
