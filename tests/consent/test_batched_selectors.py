"""Consent's readers for many patients at once (registry exports) answer as the per-patient
ones do, and release NHS numbers only under linkage consent in force at the given time."""

from __future__ import annotations

import pytest
from django.utils import timezone

from consent import selectors, services
from tests.consent.conftest import document
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

NUMBERS = ["9434765919", "9434765870", "9434765862"]


def test_consent_histories_equal_each_patients_own(patient_alice, patient_bob):
    services.consent_give(patient=patient_alice, document=document("registry_sharing"), via="web")
    services.consent_give(patient=patient_alice, document=document("research_contact"), via="web")
    services.consent_withdraw(patient=patient_alice, scope="research_contact", via="web")
    carol = PatientFactory()

    found = selectors.consent_histories(patient_ids=[patient_alice.pk, patient_bob.pk, carol.pk])

    assert found[patient_alice.pk] == list(selectors.consent_history(patient=patient_alice))
    assert [e.action for e in found[patient_alice.pk]][0] == "withdraw"  # newest first
    assert found[patient_bob.pk] == [] and found[carol.pk] == []


def test_nhs_numbers_only_for_linkage_consent_in_force(patient_alice, patient_bob):
    linkage = document("nhs_linkage")
    carol = PatientFactory()
    for patient, number in zip([patient_alice, patient_bob, carol], NUMBERS, strict=True):
        services.consent_give(patient=patient, document=linkage, via="web", nhs_number=number)
    before_withdrawal = timezone.now()
    services.consent_withdraw(patient=patient_bob, scope="nhs_linkage", via="web")
    ids = [patient_alice.pk, patient_bob.pk, carol.pk]

    now = selectors.nhs_numbers_for_linkage(patient_ids=ids, at=timezone.now())
    then = selectors.nhs_numbers_for_linkage(patient_ids=ids, at=before_withdrawal)
    alone = selectors.nhs_numbers_for_linkage(patient_ids=[patient_alice.pk], at=timezone.now())

    assert now == {patient_alice.pk: NUMBERS[0], carol.pk: NUMBERS[2]}
    assert now == {
        pid: n for pid in ids if (n := selectors.nhs_number_for_linkage(patient_id=pid)) is not None
    }
    assert then == dict(zip(ids, NUMBERS, strict=True))
    assert alone == {patient_alice.pk: NUMBERS[0]}
