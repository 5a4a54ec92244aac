"""The patient list: search by name, sort by last entry / ESSPRI change / missing days, flags
(worsening, a flare this week, imaging waiting for review) and a period picker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from consent.models import AccessLogEvent
from diary import services as diary
from tests.clinic.test_summary_imaging import _scored_study
from tests.consent.conftest import make_grant
from tests.factories import PatientFactory
from tests.personas import login_verified

pytestmark = pytest.mark.django_db

SYMPTOMS = ("dryness_eyes", "dryness_mouth", "dryness_skin", "fatigue", "muscle_pain", "joint_pain")


def _day(n: int):
    return timezone.localdate() - timedelta(days=1 + n)


def _entry(patient, day, flare=False):
    diary.entry_save(
        patient=patient,
        entry_date=day,
        values={**dict.fromkeys(SYMPTOMS, 3), "flare": flare, "factors": [], "note": ""},
    )


def _esspri(patient, score, day):
    diary.questionnaire_response_save(
        patient=patient,
        instrument="esspri",
        answers={"dryness": 5, "fatigue": 5, "pain": 5},
        score=score,
        period_start=day - timedelta(days=13),
        period_end=day,
    )


@pytest.fixture
def three_patients(carol_verified):
    created = timezone.now() - timedelta(days=60)
    ann = PatientFactory(email="ann@example.org", display_name="Ann Able", date_joined=created)
    ben = PatientFactory(email="ben@example.org", display_name="Ben Baker", date_joined=created)
    cat = PatientFactory(email="cat@example.org", display_name="Cat Cole", date_joined=created)
    for p in (ann, ben, cat):
        make_grant(p, carol_verified, ("diary", "questionnaires", "imaging"))
    for n in range(10):  # Ann: ten days, a flare yesterday
        _entry(ann, _day(n), flare=n == 0)
    _entry(ben, _day(20))  # Ben: one entry 3 weeks ago
    for n in range(3):  # Cat: three days
        _entry(cat, _day(n))
    _esspri(ann, 4.0, _day(20))
    _esspri(ann, 4.5, _day(2))  # +0.5: not meaningful
    _esspri(cat, 3.0, _day(20))
    _esspri(cat, 5.0, _day(2))  # +2: worse beyond the minimal important change
    _scored_study(ben, carol_verified)  # a result no clinician has reviewed yet
    return ann, ben, cat


def _names(response) -> list[str]:
    return [row.name for row in response.context["rows"]]


def test_search_by_name_lists_and_logs_only_the_matches(client, three_patients, carol_verified):
    login_verified(client, carol_verified)
    response = client.get(reverse("clinic:patients"), {"q": "bak"})
    assert response.status_code == 200
    assert _names(response) == ["Ben Baker"]
    logged = AccessLogEvent.objects.filter(actor_id=carol_verified.pk, outcome="allowed")
    assert [r.patient_id for r in logged] == [three_patients[1].pk]


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("name", ["Ann Able", "Ben Baker", "Cat Cole"]),
        ("last_entry", ["Ben Baker", "Ann Able", "Cat Cole"]),
        ("esspri_change", ["Cat Cole", "Ann Able", "Ben Baker"]),
        ("missing", ["Ben Baker", "Cat Cole", "Ann Able"]),
    ],
)
def test_sorts(client, three_patients, carol_verified, sort, expected):
    login_verified(client, carol_verified)
    response = client.get(reverse("clinic:patients"), {"sort": sort})
    names = _names(response)
    if sort == "last_entry":  # Ann and Cat both wrote yesterday: by name among equals
        assert names[0] == "Ben Baker" and sorted(names[1:]) == ["Ann Able", "Cat Cole"]
    else:
        assert names == expected


def test_flags(client, three_patients, carol_verified):
    login_verified(client, carol_verified)
    rows = {r.name: r for r in client.get(reverse("clinic:patients")).context["rows"]}
    assert rows["Ann Able"].flare_this_week and not rows["Ann Able"].esspri_worsened
    assert rows["Cat Cole"].esspri_worsened
    assert rows["Ben Baker"].imaging_waiting == 1 and rows["Ann Able"].imaging_waiting == 0
    assert "1 imaging result waiting for review" in rows["Ben Baker"].flags
    assert rows["Ben Baker"].no_entry_flag
    page = client.get(reverse("clinic:patients")).content.decode()
    assert "Flare this week" in page and "waiting for review" in page


def test_period_picker_counts_in_the_chosen_period(client, three_patients, carol_verified):
    login_verified(client, carol_verified)
    query = {"from": str(_day(4)), "to": str(_day(0))}
    rows = {r.name: r for r in client.get(reverse("clinic:patients"), query).context["rows"]}
    assert rows["Ann Able"].entries_in_period == 5 and rows["Ann Able"].missing_days == 0
    assert rows["Cat Cole"].missing_days == 2
    assert rows["Ben Baker"].missing_days == 5


@pytest.mark.parametrize(
    "query, message",
    [
        ({"from": "2026-03-10", "to": "2026-03-01"}, "The period is reversed"),
        ({"from": "", "to": "2026-03-01"}, "Enter the first day of the period."),
    ],
)
def test_bad_period_is_a_400_with_the_message(
    client, three_patients, carol_verified, query, message
):
    login_verified(client, carol_verified)
    response = client.get(reverse("clinic:patients"), query)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_api_list_takes_the_same_query(api_client, three_patients, carol_verified):
    login_verified(api_client, carol_verified)
    data = api_client.get(reverse("api_patients"), {"sort": "esspri_change"}).json()["results"]
    assert [r["name"] for r in data] == ["Cat Cole", "Ann Able", "Ben Baker"]
    assert api_client.get(reverse("api_patients"), {"sort": "nonsense"}).status_code == 400
    reversed_period = {"from": "2026-03-10", "to": "2026-03-01"}
    assert api_client.get(reverse("api_patients"), reversed_period).status_code == 400


def test_old_addresses_redirect(client, three_patients, carol_verified):
    login_verified(client, carol_verified)
    ann = three_patients[0]
    response = client.get(
        f"/consent/patients/{ann.public_id}/summary/?from=2026-01-01&to=2026-01-31"
    )
    assert response.status_code == 301
    target = reverse("clinic:summary", args=[ann.public_id]) + "?from=2026-01-01&to=2026-01-31"
    assert response["Location"] == target
    assert client.get("/consent/patients/")["Location"] == reverse("clinic:patients")


def test_clinician_home_counts_patients_and_links_the_list(client, three_patients, carol_verified):
    login_verified(client, carol_verified)
    page = client.get(reverse("home")).content.decode()
    assert "3 patients share with you now" in page
    assert reverse("clinic:patients") in page
