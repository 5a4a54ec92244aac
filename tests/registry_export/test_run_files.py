"""A run writes the consenting patients' data, pseudonymised, in both formats, once."""

from __future__ import annotations

import csv
import hashlib
import io
import json

import pytest

from registry_export import storage
from registry_export.models import ExportRun, RunStatus
from registry_export.pseudonyms import pseudonymiser_for
from tests.registry_export.conftest import read_files, read_published, run_now


@pytest.mark.django_db
def test_run_exports_only_patients_with_active_consent(cohort, destination):
    run = run_now(destination)
    assert run.status == RunStatus.SUCCEEDED
    ps = pseudonymiser_for(destination)
    files = read_files(run)
    patients = [json.loads(line) for line in files["Patient.ndjson"].splitlines()]
    assert [p["id"] for p in patients] == [ps.patient(p.pk) for p in cohort[:4]]
    records = files["redcap_records.csv"].decode()
    for outsider in cohort[4:]:
        assert ps.patient(outsider.pk) not in records
        assert ps.patient(outsider.pk).encode() not in files["Observation.ndjson"]


@pytest.mark.django_db
def test_files_hold_no_ids_emails_or_notes(cohort, destination):
    run = run_now(destination)
    blob = b"".join(read_files(run).values())
    assert b"canary-note-never-exported" not in blob
    for p in cohort:
        assert p.email.encode() not in blob
        assert f'Patient/{p.pk}"'.encode() not in blob


@pytest.mark.django_db
def test_pseudonym_is_hmac_sha256_of_the_patient_id(cohort, destination):
    import hmac

    from registry_export.pseudonyms import secret_unwrap

    secret = secret_unwrap(
        destination_id=destination.pk,
        blob=destination.pseudonym_secret_wrapped,
        kek_id=destination.pseudonym_kek_id,
    )
    expected = hmac.new(secret, str(cohort[0].pk).encode(), hashlib.sha256).hexdigest()
    assert pseudonymiser_for(destination).patient(cohort[0].pk) == expected


@pytest.mark.django_db
def test_manifest_lists_every_file_with_its_checksum_and_count(cohort, destination):
    run = run_now(destination)
    files = read_published(run)
    joined = read_files(run)
    manifest = json.loads(files["manifest.json"])
    assert manifest["consent_snapshot_at"].startswith(run.period_end.strftime("%Y-%m-%dT%H:%M"))
    assert manifest["destination"]["name"] == "UK PSSR"
    assert manifest["formats"]["fhir"]["fhirVersion"] == "4.0.1"
    assert manifest["software"]["version"]
    listed = {f["name"]: f for f in manifest["files"]}
    assert set(listed) | {"manifest.json"} == set(files)
    for name, meta in listed.items():
        assert meta["sha256"] == hashlib.sha256(files[name]).hexdigest()
        assert meta["bytes"] == len(files[name])
    # One file per type and partition; the counts add up per type.
    assert listed["Patient.00000.ndjson"]["count"] == 4
    assert listed["Patient.00000.ndjson"]["type"] == "Patient"
    # Four patients x 8 days x (6 scores + flare) + factor observations + one ESSPRI total.
    obs_lines = joined["Observation.ndjson"].count(b"\n")
    obs_count = sum(f["count"] for f in listed.values() if f.get("type") == "Observation")
    assert obs_count == obs_lines >= 4 * 8 * 7 + 1
    run_entry = {f["name"]: f for f in run.files}
    assert (
        run_entry["manifest.json"]["sha256"] == hashlib.sha256(files["manifest.json"]).hexdigest()
    )


@pytest.mark.django_db
def test_redcap_rows_are_flat_with_repeating_instruments(cohort, destination):
    run = run_now(destination)
    rows = list(csv.DictReader(io.StringIO(read_files(run)["redcap_records.csv"].decode())))
    ps = pseudonymiser_for(destination)
    first = [r for r in rows if r["record_id"] == ps.patient(cohort[0].pk)]
    kinds = [r["redcap_repeat_instrument"] for r in first]
    assert kinds[0] == "" and first[0]["redcap_repeat_instance"] == ""
    assert kinds.count("daily_diary") == 8
    assert kinds.count("esspri") == 1 and kinds.count("medication") == 1
    # A classic project: no event column.
    assert "redcap_event_name" not in rows[0]
    diary = [r for r in first if r["redcap_repeat_instrument"] == "daily_diary"]
    instances = [int(r["redcap_repeat_instance"]) for r in diary]
    assert instances == list(range(1, 9))
    assert all(r["fatigue"].isdigit() for r in diary)
    assert "nhs_number" not in rows[0]


@pytest.mark.django_db
def test_data_dictionary_is_generated_from_the_diary_fields(cohort, destination):
    from diary.fields import FACTOR_CHOICES, SYMPTOM_FIELDS

    run = run_now(destination)
    text = read_files(run)["redcap_data_dictionary.csv"].decode()
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    assert header[:5] == [
        "Variable / Field Name",
        "Form Name",
        "Section Header",
        "Field Type",
        "Field Label",
    ]
    assert "Identifier?" in header and "Required Field?" in header
    by_name = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    for f in SYMPTOM_FIELDS:
        assert by_name[f.name]["Field Label"] == f.label
        assert by_name[f.name]["Text Validation Min"] == str(f.min_value)
        assert by_name[f.name]["Text Validation Max"] == str(f.max_value)
    choices = by_name["factors"]["Choices, Calculations, OR Slider Labels"]
    assert choices == " | ".join(f"{c}, {label}" for c, label in FACTOR_CHOICES)
    # Every data column maps back to a dictionary variable.
    records = read_files(run)["redcap_records.csv"].decode().splitlines()[0].split(",")
    for col in records[3:]:
        assert col.split("___")[0] in by_name


@pytest.mark.django_db
def test_one_run_per_destination_and_period_and_one_active_at_a_time(cohort, destination):
    from registry_export import services

    first, created = services.export_run_request(
        destination=destination, trigger="command", dispatch=False
    )
    again, created_again = services.export_run_request(
        destination=destination, trigger="command", dispatch=False
    )
    assert created and not created_again and again.pk == first.pk
    assert ExportRun.objects.filter(destination=destination).count() == 1


@pytest.mark.django_db
def test_no_partial_files_remain_after_success(
    cohort, destination, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = run_now(destination, partition_size=2)
    folder = storage.destination_dir(destination.pk)
    assert [p.name for p in folder.iterdir()] == [f"run-{run.pk}"]
