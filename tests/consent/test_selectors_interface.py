"""The selectors other apps call: the grant check with its access-log rows.

Called directly here (as a Celery task or another app's service would, without a request); the
full-stack checks through every route are in test_access_table.py.
"""

from __future__ import annotations

import pytest
from django.http import Http404

from consent import selectors
from consent.models import AccessLogEvent
from tests.consent.conftest import make_grant

pytestmark = pytest.mark.django_db


def test_patient_for_clinician_allows_the_granted_scope_and_logs_it(patient_alice, carol_verified):
    make_grant(patient_alice, carol_verified, scopes=("imaging",))
    patient = selectors.patient_for_clinician(
        clinician=carol_verified,
        patient_id=patient_alice.pk,
        scope="imaging",
        request=None,
    )
    assert patient == patient_alice
    row = AccessLogEvent.objects.get()
    assert (row.outcome, row.actor_id, row.patient_id) == (
        "allowed",
        carol_verified.pk,
        patient_alice.pk,
    )


def test_patient_for_clinician_refuses_a_scope_not_granted_and_logs_it(
    patient_alice, carol_verified
):
    make_grant(patient_alice, carol_verified, scopes=("diary",))
    with pytest.raises(Http404):
        selectors.patient_for_clinician(
            clinician=carol_verified,
            patient_id=patient_alice.pk,
            scope="imaging",
            request=None,
        )
    assert AccessLogEvent.objects.get().outcome == "denied"


def test_patient_for_clinician_refuses_non_clinicians(patient_alice, patient_bob, researcher_rita):
    for user in (patient_alice, patient_bob, researcher_rita):
        with pytest.raises(Http404):
            selectors.patient_for_clinician(
                clinician=user,
                patient_id=patient_alice.pk,
                scope="diary",
                request=None,
            )
    assert AccessLogEvent.objects.filter(outcome="denied").count() == 3


def test_unknown_scope_is_a_programming_error(patient_alice, carol_verified):
    with pytest.raises(ValueError):
        selectors.can_see(clinician=carol_verified, patient_id=patient_alice.pk, scope="notes")
