"""The clinician's "My patients" list and pre-appointment summary (page and API agree)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from diary import services as diary
from tests.consent.conftest import make_grant
from tests.personas import login_verified

pytestmark = pytest.mark.django_db

SYMPTOMS = ("dryness_eyes", "dryness_mouth", "dryness_skin", "fatigue", "muscle_pain", "joint_pain")


def _day(n: int):
    """n days before yesterday (yesterday is 'past' in every time zone)."""
    return timezone.localdate() - timedelta(days=1 + n)


def _entry(patient, day, value: int, flare: bool = False):
    diary.entry_save(
        patient=patient,
        entry_date=day,
        values={**dict.fromkeys(SYMPTOMS, value), "flare": flare, "factors": [], "note": "n"},
    )


def _esspri(patient, score: float, end):
    diary.questionnaire_response_save(
        patient=patient,
        instrument="esspri",
        answers={"dryness": round(score), "fatigue": round(score), "pain": round(score)},
        score=score,
        period_start=end - timedelta(days=13),
        period_end=end,
    )


@pytest.fixture
def alice_diary(patient_alice):
    # Two full weeks: values 2 then 6, flares on two days, 20 days ago nothing.
    for n in range(14):
        _entry(patient_alice, _day(n), 6 if n < 7 else 2, flare=n in (1, 3))
    _esspri(patient_alice, 4.0, _day(20))
    _esspri(patient_alice, 5.5, _day(2))  # +1.5: a meaningful worsening
    med = diary.medicine_add(
        patient=patient_alice,
        name="Hydroxychloroquine",
        dose="200",
        unit="mg",
        schedule="once_daily",
        start_date=_day(40),
    )
    diary.medicine_update(
        patient=patient_alice,
        medicine_id=med.id,
        dose="400",
        unit="mg",
        schedule="once_daily",
        effective=_day(10),
    )
    for n in range(10):
        diary.dose_log_set(patient=patient_alice, medicine_id=med.id, day=_day(n), status="taken")
    return patient_alice


def test_my_patients_lists_active_grants_with_flags(
    api_client, alice_diary, patient_bob, carol_grant
):
    make_grant(patient_bob, carol_grant.clinician)  # Bob shares but wrote nothing for 14 days
    _entry(patient_bob, _day(20), 3)
    login_verified(api_client, carol_grant.clinician)

    rows = {r["email"]: r for r in api_client.get(reverse("api_patients")).json()["results"]}

    alice = rows["alice@example.org"]
    assert alice["last_entry"] == str(_day(0))
    assert alice["no_entry_flag"] is False
    assert alice["esspri"] == 5.5 and alice["esspri_change"] == pytest.approx(1.5)
    assert alice["esspri_worsened"] is True
    assert alice["flares_30d"] == 2
    bob = rows["bob@example.org"]
    assert bob["no_entry_flag"] is True and bob["esspri"] is None


def test_my_patients_counts_flares_up_to_the_patients_own_today(
    api_client, patient_alice, carol_grant, monkeypatch
):
    # Tomorrow at 12:00 UTC (after the grant began): in London it is still that day, on
    # Kiritimati (UTC+14) it is already the day after.
    tomorrow = timezone.now().date() + timedelta(days=1)
    noon = datetime.combine(tomorrow, time(12), tzinfo=UTC)
    monkeypatch.setattr(timezone, "now", lambda: noon)
    patient_alice.time_zone = "Pacific/Kiritimati"
    patient_alice.save(update_fields=["time_zone"])
    her_today = tomorrow + timedelta(days=1)
    _entry(patient_alice, her_today, 4, flare=True)
    login_verified(api_client, carol_grant.clinician)

    (alice,) = api_client.get(reverse("api_patients")).json()["results"]

    assert alice["last_entry"] == her_today.isoformat()
    assert alice["flares_30d"] == 1
    assert alice["no_entry_flag"] is False


@pytest.mark.parametrize(
    "previous, latest, worsened",
    [
        (6.0, 6.9, True),  # +0.9 is 15 % of 6: meaningful
        (6.0, 6.8, False),  # +0.8, 13 %: not
        (2.0, 3.0, True),  # +1 point
        (5.0, 4.0, False),  # an improvement is not a worsening
    ],
)
def test_esspri_worsening_flag_uses_one_point_or_fifteen_percent(
    api_client, patient_alice, carol_grant, previous, latest, worsened
):
    _esspri(patient_alice, previous, _day(20))
    _esspri(patient_alice, latest, _day(3))
    login_verified(api_client, carol_grant.clinician)
    row = api_client.get(reverse("api_patients")).json()["results"][0]
    assert row["esspri_worsened"] is worsened


def test_my_patients_page_shows_the_flags(client, alice_diary, carol_grant):
    login_verified(client, carol_grant.clinician)
    page = client.get(reverse("clinic:patients")).content.decode()
    assert "ESSPRI worse by more than the minimal important change" in page
    assert "Flare this week" in page
    assert reverse("clinic:summary", args=[alice_diary.public_id]) in page


def test_summary_api_has_weekly_means_flares_medicines_and_questionnaires(
    api_client, alice_diary, carol_grant
):
    login_verified(api_client, carol_grant.clinician)
    url = reverse("api_patient_summary", args=[alice_diary.public_id])
    data = api_client.get(url, {"from": str(_day(27)), "to": str(_day(0))}).json()

    assert data["entry_count"] == 14 and data["days_in_period"] == 28
    assert sorted(data["flare_dates"]) == sorted([str(_day(1)), str(_day(3))])
    assert data["period_means"]["fatigue"] == 4.0  # 7 days of 6 and 7 of 2
    # Weeks start on Monday: recompute each week's mean from the values written above.
    expected: dict[str, list[int]] = {}
    for n in range(14):
        day = _day(n)
        # A week cut by the start of the period begins on the period's first day.
        monday = max(day - timedelta(days=day.weekday()), _day(27))
        expected.setdefault(str(monday), []).append(6 if n < 7 else 2)
    filled = [w for w in data["weeks"] if w["entries"]]
    week_means = {w["week_start"]: w["means"]["fatigue"] for w in filled}
    assert week_means == {k: round(sum(v) / len(v), 1) for k, v in expected.items()}
    assert {w["week_start"]: w["entries"] for w in filled} == {
        k: len(v) for k, v in expected.items()
    }
    empty = [w for w in data["weeks"] if not w["entries"]]
    assert all(w["means"]["fatigue"] is None for w in empty)  # no entries: no mean, not 0

    (med,) = data["medicines"]
    assert med["name"] == "Hydroxychloroquine"
    assert any("dose changed to 400 mg" in c for c in med["changes_in_period"])
    assert med["taken"] == 10

    esspri = [q for q in data["questionnaires"] if q["instrument"] == "esspri"]
    assert [(q["score"], q["acceptable"], q["change"]) for q in esspri] == [
        (4.0, True, None),
        (5.5, False, "worsened"),
    ]


def test_summary_page_and_api_show_the_same_numbers(client, api_client, alice_diary, carol_grant):
    login_verified(client, carol_grant.clinician)
    login_verified(api_client, carol_grant.clinician)
    params = {"from": str(_day(27)), "to": str(_day(0))}
    data = api_client.get(
        reverse("api_patient_summary", args=[alice_diary.public_id]), params
    ).json()
    page = client.get(reverse("clinic:summary", args=[alice_diary.public_id]), params)
    assert page.status_code == 200
    report = page.context["report"]
    assert report.entry_count == data["entry_count"]
    assert [str(d) for d in report.flare_dates] == data["flare_dates"]
    assert [q.score for q in report.questionnaires] == [q["score"] for q in data["questionnaires"]]
    text = page.content.decode()
    assert "Meaningful worsening" in text
    assert "Hydroxychloroquine" in text
    assert 'media="print"' in text and "clinic/print.css" in text
    # The diary's trend charts (plotly JSON for trends.js) and ESSPRI trajectory are reused.
    assert 'id="tr-symptom-data"' in text and 'id="tr-esspri-data"' in text
    assert "vendor/plotly/plotly-basic.min.js" in text


def test_summary_defaults_to_the_last_90_days(api_client, patient_alice, carol_grant):
    login_verified(api_client, carol_grant.clinician)
    data = api_client.get(reverse("api_patient_summary", args=[patient_alice.public_id])).json()
    assert data["days_in_period"] == 90
    assert data["date_to"] == str(timezone.localdate())


def test_narrower_grant_leaves_out_what_is_not_shared(
    client, api_client, alice_diary, carol_verified
):
    make_grant(alice_diary, carol_verified, scopes=("diary",))
    login_verified(api_client, carol_verified)
    data = api_client.get(reverse("api_patient_summary", args=[alice_diary.public_id])).json()
    assert data["medicines"] is None and data["questionnaires"] is None
    assert data["entry_count"] == 14
    login_verified(client, carol_verified)
    page = client.get(reverse("clinic:summary", args=[alice_diary.public_id]))
    text = page.content.decode()
    assert "does not share their medicines" in text
    assert "Hydroxychloroquine" not in text  # not in the tables, nor as a chart band
    assert 'id="tr-symptom-data"' in text and 'id="tr-esspri-data"' not in text
    row = client.get(reverse("api_patients")).json()["results"][0]
    assert row["esspri"] is None  # questionnaires not shared


@pytest.mark.parametrize(
    "params, field",
    [
        ({"from": "2024-02-01", "to": "2024-01-01"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2024-13-40"}, "to"),
        ({"from": "2001-01-01", "to": "2024-01-01"}, "from"),  # over five years
    ],
)
def test_bad_period_is_a_400_with_a_field_message(
    api_client, patient_alice, carol_grant, params, field
):
    login_verified(api_client, carol_grant.clinician)
    response = api_client.get(
        reverse("api_patient_summary", args=[patient_alice.public_id]), params
    )
    assert response.status_code == 400
    assert field in response.json()


def test_bad_period_without_a_grant_is_still_a_404(api_client, patient_alice, clinician_dave):
    login_verified(api_client, clinician_dave)
    response = api_client.get(
        reverse("api_patient_summary", args=[patient_alice.public_id]), {"from": "nonsense"}
    )
    assert response.status_code == 404


def test_bad_period_on_the_page_shows_the_error(client, patient_alice, carol_grant):
    login_verified(client, carol_grant.clinician)
    response = client.get(
        reverse("clinic:summary", args=[patient_alice.public_id]),
        {"from": "2024-02-01", "to": "2024-01-01"},
    )
    assert response.status_code == 400
    assert "on or before the end" in response.content.decode()
