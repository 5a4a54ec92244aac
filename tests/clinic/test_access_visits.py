"""One viewing, one line for the patient: the summary, its PDF and the radiographs a clinician
opens in one sitting are one visit on the patient's "Who has viewed my data" page (in the
patient's time zone), while the raw access log keeps every read."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from consent import selectors
from consent.models import AccessLogEvent
from tests.clinic.test_summary_imaging import _scored_study
from tests.consent.conftest import make_grant
from tests.personas import login_verified

pytestmark = pytest.mark.django_db

ALL = ("diary", "medicines", "questionnaires", "imaging")


def test_summary_pdf_and_two_radiographs_are_one_visit(client, patient_alice, carol_verified):
    make_grant(patient_alice, carol_verified, ALL)
    first, second = (_scored_study(patient_alice, carol_verified) for _ in range(2))
    login_verified(client, carol_verified)

    client.get(reverse("clinic:summary", args=[patient_alice.public_id]))
    client.get(reverse("clinic:summary_pdf", args=[patient_alice.public_id]))
    for study in (first, second, first):
        client.get(reverse("imaging:study", args=[study.pk]))

    raw = AccessLogEvent.objects.filter(actor_id=carol_verified.pk, patient_id=patient_alice.pk)
    assert raw.count() == 5  # the raw log is complete
    assert len({r.visit for r in raw}) == 1 and raw.first().visit
    (line,) = selectors.access_visits_for_patient(patient=patient_alice)
    assert line.text == "looked at your pre-appointment summary and two radiographs"
    assert line.reads == 5

    client.force_login(patient_alice)
    page = client.get(reverse("consent:access_log")).content.decode()
    assert "Dr Carol (clinician) looked at your pre-appointment summary and two radiographs" in page
    every = client.get(reverse("consent:access_log"), {"all": "1"}).content.decode()
    assert every.count("<tr>") == 1 + 5  # header + every raw row


def test_a_visit_ends_after_half_an_hour_idle(client, patient_alice, carol_verified, monkeypatch):
    make_grant(patient_alice, carol_verified, ALL)
    login_verified(client, carol_verified)
    client.get(reverse("clinic:summary", args=[patient_alice.public_id]))
    later = timezone.now() + timedelta(minutes=31)
    monkeypatch.setattr(timezone, "now", lambda: later)
    client.get(reverse("clinic:timeline", args=[patient_alice.public_id]))

    lines = selectors.access_visits_for_patient(patient=patient_alice)
    assert [line.text for line in lines] == [
        "looked at your timeline",
        "looked at your pre-appointment summary",
    ]


def test_visit_time_is_in_the_patients_time_zone(client, patient_alice, carol_verified):
    patient_alice.time_zone = "Pacific/Kiritimati"
    patient_alice.save(update_fields=["time_zone"])
    make_grant(patient_alice, carol_verified, ALL)
    login_verified(client, carol_verified)
    client.get(reverse("clinic:summary", args=[patient_alice.public_id]))

    (line,) = selectors.access_visits_for_patient(patient=patient_alice)
    row = AccessLogEvent.objects.get(actor_id=carol_verified.pk)
    assert line.occurred_at == row.occurred_at
    assert line.occurred_at.utcoffset() == timedelta(hours=14)
    client.force_login(patient_alice)
    page = client.get(reverse("consent:access_log")).content.decode()
    local = row.occurred_at.astimezone(ZoneInfo("Pacific/Kiritimati"))
    assert f"{local:%H:%M}" in page


def test_refusals_stay_one_line_each(client, patient_alice, clinician_dave):
    from tests.consent.conftest import verify_clinician

    verify_clinician(clinician_dave)
    login_verified(client, clinician_dave)
    for _ in range(2):
        assert (
            client.get(reverse("clinic:summary", args=[patient_alice.public_id])).status_code == 404
        )
    lines = selectors.access_visits_for_patient(patient=patient_alice)
    assert [line.outcome for line in lines] == ["refused", "refused"]
    assert all(not r.visit for r in AccessLogEvent.objects.filter(actor_id=clinician_dave.pk))
