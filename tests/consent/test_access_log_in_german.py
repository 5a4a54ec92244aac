"""A patient who reads the portal in German reads who viewed their data in German: the lines are
put together from translated phrases, in the order German needs."""

from __future__ import annotations

import pytest
from django.urls import reverse

from consent import access_chain
from consent.models import AccessLogEvent

pytestmark = pytest.mark.django_db


def _read(patient, clinician, what: str, *, kind="page", outcome="allowed", visit=""):
    (row,) = access_chain.hashed(
        [
            AccessLogEvent(
                actor_id=clinician.pk, actor_role="clinician", patient_id=patient.pk, kind=kind,
                what=what, outcome=outcome, visit=visit,
            )
        ]
    )  # fmt: skip
    row.save(force_insert=True)


@pytest.fixture
def german_alice(client, patient_alice):
    patient_alice.language = "de"
    patient_alice.save()
    client.force_login(patient_alice)
    return patient_alice


def test_visit_lines_in_german(client, german_alice, clinician_carol):
    visit = "0f0e0d0c0b0a49088706050403020100"
    _read(german_alice, clinician_carol, "consent:clinician_summary GET /x/", visit=visit)
    _read(german_alice, clinician_carol, "imaging:study GET /imaging/studies/"
          "11111111-2222-4333-8444-555555555555/", visit=visit)  # fmt: skip
    _read(german_alice, clinician_carol, "imaging:study GET /imaging/studies/"
          "66666666-2222-4333-8444-555555555555/", visit=visit)  # fmt: skip
    html = client.get(reverse("consent:access_log")).content.decode()
    name = clinician_carol.display_name or clinician_carol.email
    assert (
        f"{name} (Ärztin/Arzt) hat Ihre Zusammenfassung für den Termin und zwei Röntgenbilder "
        "angesehen, am <time" in html
    )
    assert " um " in html and "Wer meine Daten angesehen hat" in html


def test_every_read_and_refusals_in_german(client, german_alice, clinician_carol):
    _read(german_alice, clinician_carol, "api_patient_summary GET /api/", kind="api")
    _read(german_alice, clinician_carol, "consent:clinician_summary GET /x/", outcome="denied")
    every = client.get(reverse("consent:access_log"), {"all": "1"}).content.decode()
    assert "Hat Ihre Zusammenfassung für den Termin über die API gelesen" in every
    assert "<strong>Abgewiesen</strong>" in every and "Erlaubt" in every
    visits = client.get(reverse("consent:access_log")).content.decode()
    assert "<strong>Abgewiesen:</strong>" in visits


def test_the_same_page_stays_english_for_an_english_reader(client, patient_alice, clinician_carol):
    _read(patient_alice, clinician_carol, "consent:clinician_summary GET /x/")
    client.force_login(patient_alice)
    html = client.get(reverse("consent:access_log")).content.decode()
    assert "(clinician) looked at your pre-appointment summary on <time" in html
