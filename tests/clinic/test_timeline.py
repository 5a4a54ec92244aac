"""One patient's timeline: diary, flares, questionnaires, medicines and imaging on one axis,
only what the grant covers, each linking to its detail; access checked and logged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from consent.models import AccessLogEvent
from diary import services as diary
from tests.clinic.test_summary_imaging import _scored_study
from tests.consent.conftest import make_grant
from tests.personas import login_verified

pytestmark = pytest.mark.django_db

SYMPTOMS = ("dryness_eyes", "dryness_mouth", "dryness_skin", "fatigue", "muscle_pain", "joint_pain")


def _day(n: int):
    return timezone.localdate() - timedelta(days=1 + n)


@pytest.fixture
def alice_history(patient_alice):
    for n, flare in ((0, True), (3, False)):
        diary.entry_save(
            patient=patient_alice,
            entry_date=_day(n),
            values={**dict.fromkeys(SYMPTOMS, 4), "flare": flare, "factors": [], "note": "n"},
        )
    diary.questionnaire_response_save(
        patient=patient_alice,
        instrument="esspri",
        answers={"dryness": 5, "fatigue": 5, "pain": 5},
        score=5.0,
        period_start=_day(15),
        period_end=_day(2),
    )
    med = diary.medicine_add(
        patient=patient_alice,
        name="Pilocarpine",
        dose="5",
        unit="mg",
        schedule="twice_daily",
        start_date=_day(10),
    )
    diary.medicine_stop(patient=patient_alice, medicine_id=med.id, end_date=_day(1))
    return patient_alice


def _url(patient, **query):
    return reverse("clinic:timeline", args=[patient.public_id]) + (
        "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    )


def test_timeline_puts_every_kind_on_one_axis_with_links(client, alice_history, carol_verified):
    make_grant(alice_history, carol_verified, ("diary", "medicines", "questionnaires", "imaging"))
    study = _scored_study(alice_history, carol_verified)
    login_verified(client, carol_verified)

    response = client.get(_url(alice_history))

    assert response.status_code == 200
    report = response.context["report"]
    kinds = {e.kind for _, events in report.days for e in events}
    assert kinds == {"diary", "flare", "questionnaire", "medicine", "imaging"}
    assert [day for day, _ in report.days] == sorted((d for d, _ in report.days), reverse=True)
    text = response.content.decode()
    assert "Started Pilocarpine" in text and "Stopped Pilocarpine" in text
    assert "ESSPRI 5.0" in text or "ESSPRI 5" in text
    assert reverse("imaging:study", args=[study.pk]) in text  # imaging links to its result
    assert reverse("clinic:summary", args=[alice_history.public_id]) in text  # diary to the summary
    assert "Alice" in text and 'class="patient-header"' in text
    row = AccessLogEvent.objects.get(actor_id=carol_verified.pk)
    assert (row.outcome, row.patient_id) == ("allowed", alice_history.pk)
    assert row.what.startswith("clinic:timeline GET")


def test_timeline_shows_only_what_the_grant_covers(client, alice_history, carol_verified):
    make_grant(alice_history, carol_verified, ("medicines",))
    login_verified(client, carol_verified)
    report = client.get(_url(alice_history)).context["report"]
    kinds = {e.kind for _, events in report.days for e in events}
    assert kinds == {"medicine"}
    # No diary grant: no link to the summary, which would refuse it.
    assert all(not e.url for _, events in report.days for e in events)


def test_clinician_without_grant_gets_404_logged_as_denied(client, alice_history, clinician_dave):
    from tests.consent.conftest import verify_clinician

    verify_clinician(clinician_dave)
    login_verified(client, clinician_dave)
    response = client.get(_url(alice_history))
    assert response.status_code == 404
    row = AccessLogEvent.objects.get(actor_id=clinician_dave.pk)
    assert (row.outcome, row.patient_id) == ("denied", alice_history.pk)


@pytest.mark.parametrize(
    "query, message",
    [
        ({"from": "2026-03-10", "to": "2026-03-01"}, "The period is reversed"),
        ({"from": "", "to": ""}, "Enter the first day of the period."),
        ({"from": "yesterday", "to": "2026-03-01"}, "Enter a date such as"),
    ],
)
def test_bad_period_is_a_400_with_the_message_beside_the_field(
    client, alice_history, carol_grant, query, message
):
    login_verified(client, carol_grant.clinician)
    response = client.get(_url(alice_history, **query))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert response.context["report"] is None  # nothing read for a period that is not one


def test_bad_period_without_grant_is_still_a_404(client, alice_history, clinician_dave):
    login_verified(client, clinician_dave)
    response = client.get(_url(alice_history, **{"from": "2026-03-10", "to": "2026-03-01"}))
    assert response.status_code == 404


def test_chosen_period_limits_the_events(client, alice_history, carol_grant):
    login_verified(client, carol_grant.clinician)
    response = client.get(_url(alice_history, **{"from": _day(0), "to": _day(0)}))
    report = response.context["report"]
    assert [day for day, _ in report.days] == [_day(0)]
