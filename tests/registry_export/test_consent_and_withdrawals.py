"""Who a run includes: consent in force at the run's snapshot, and those who withdrew since."""

from __future__ import annotations

import csv
import io
import json

import pytest

from consent.models import ConsentScope
from registry_export import services
from registry_export.pseudonyms import pseudonymiser_for
from tests.factories import PatientFactory
from tests.registry_export.conftest import (
    give_consent,
    read_files,
    run_now,
    withdraw_consent,
    write_diary,
)

pytestmark = pytest.mark.django_db


def patient_ids_in(run) -> list[str]:
    return [json.loads(x)["id"] for x in read_files(run)["Patient.ndjson"].splitlines()]


def withdrawn_in(run) -> list[str]:
    rows = list(csv.reader(io.StringIO(read_files(run)["withdrawals.csv"].decode())))
    assert rows[0] == ["pseudonym"]
    return [r[0] for r in rows[1:]]


def test_consent_is_read_as_it_stood_when_the_run_started(cohort, destination, registry):
    ps = pseudonymiser_for(destination)
    run, _ = services.export_run_request(destination=destination, trigger="command", dispatch=False)
    # Changes after the run started belong to the next run, not this one.
    withdraw_consent(cohort[0], ConsentScope.REGISTRY_SHARING, registry)
    late = PatientFactory()
    write_diary(late, days=3)
    give_consent(late, ConsentScope.REGISTRY_SHARING, registry)

    run = services.export_run_foreground(run=run)

    ids = patient_ids_in(run)
    assert ps.patient(cohort[0].pk) in ids
    assert ps.patient(late.pk) not in ids
    assert len(ids) == 4 and run.patients_total == 4


def test_the_next_run_lists_those_who_withdrew_for_deletion(cohort, destination, registry):
    ps = pseudonymiser_for(destination)
    first = run_now(destination)
    assert withdrawn_in(first) == []  # nothing was sent before, so nothing to delete

    withdraw_consent(cohort[1], ConsentScope.REGISTRY_SHARING, registry)
    second = run_now(destination)

    assert withdrawn_in(second) == [ps.patient(cohort[1].pk)]
    assert ps.patient(cohort[1].pk) not in patient_ids_in(second)
    assert ps.patient(cohort[1].pk).encode() not in read_files(second)["Observation.ndjson"]
    manifest = json.loads(read_files(second)["manifest.json"])
    assert manifest["withdrawals"] == 1
    listed = {f["name"]: f for f in manifest["files"]}
    assert listed["withdrawals.csv"]["count"] == 1
    # Listed again by every run until the registry has fetched a list that holds it (issue 11):
    # a registry that skipped the second run still learns of it from the third.
    third = run_now(destination)
    assert withdrawn_in(third) == [ps.patient(cohort[1].pk)]
    services.export_withdrawals_fetched(run=third)
    assert withdrawn_in(run_now(destination)) == []


def test_an_erased_patient_is_listed_as_withdrawn(cohort, destination):
    from diary import services as diary_services

    ps = pseudonymiser_for(destination)
    run_now(destination)
    pseudonym = ps.patient(cohort[2].pk)
    diary_services.patient_erase(patient=cohort[2])

    assert withdrawn_in(run_now(destination)) == [pseudonym]


def test_a_patient_who_withdrew_before_any_run_is_never_sent(cohort, destination):
    ps = pseudonymiser_for(destination)
    run = run_now(destination)
    assert ps.patient(cohort[5].pk) not in patient_ids_in(run)
    assert ps.patient(cohort[5].pk) not in withdrawn_in(run)


def test_pseudonyms_are_stable_across_runs_of_one_destination(cohort, destination):
    first = patient_ids_in(run_now(destination))
    second = patient_ids_in(run_now(destination))
    assert first == second and len(first) == 4


def test_pseudonyms_of_two_destinations_cannot_be_linked(cohort, destination, registry):
    other = services.destination_create(
        name="Other registry feed",
        formats=["fhir", "redcap"],
        consent_scope=ConsentScope.REGISTRY_SHARING,
        registry=registry,
    )
    a, b = read_files(run_now(destination)), read_files(run_now(other))
    ids_a, ids_b = set(patient_ids_in(run_now(destination))), set(patient_ids_in(run_now(other)))
    assert len(ids_a) == len(ids_b) == 4 and not ids_a & ids_b
    # Nor through derived resource ids: no Observation id appears in both exports.
    obs_a = {json.loads(x)["id"] for x in a["Observation.ndjson"].splitlines()}
    obs_b = {json.loads(x)["id"] for x in b["Observation.ndjson"].splitlines()}
    assert len(obs_a) == len(obs_b) and not obs_a & obs_b
    assert other.pseudonym_secret_wrapped != destination.pseudonym_secret_wrapped
