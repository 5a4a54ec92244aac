"""Trends: pandas series (7-day rolling means, weekly means), the text summary, the plotly
figures, the page (no inline script, plotly.js from static) and its API twin."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from diary import services
from diary.records import EntryView
from diary.selectors import patient_today
from diary.trends.figures import MedicinePeriod, esspri_figure, figure_data, symptom_figure
from diary.trends.frames import daily_frame, weekly_means_from_frame
from diary.trends.selectors import trends_for
from diary.trends.summary import summarise
from tests.diary.conftest import save_day
from tests.personas import login_verified

TRENDS = reverse("diary:trends")
API = "/api/v1/trends/"


def entry(day: date, score: int, *, flare: bool = False, **scores) -> EntryView:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    values = {
        name: scores.get(name, score)
        for name in (
            "dryness_eyes",
            "dryness_mouth",
            "dryness_skin",
            "fatigue",
            "muscle_pain",
            "joint_pain",
        )
    }
    return EntryView(uuid.uuid4(), 1, day, **values, flare=flare, factors=(), note="",
                     created_at=now, updated_at=now, amended_at=None)  # fmt: skip


def values(trace_field) -> list:
    """A figure's data array: plotly sends numpy data as base64 typed arrays."""
    if isinstance(trace_field, dict) and "bdata" in trace_field:
        array = np.frombuffer(base64.b64decode(trace_field["bdata"]), dtype=trace_field["dtype"])
        return [None if np.isnan(v) else float(v) for v in array]
    return list(trace_field)


# --- pandas ----------------------------------------------------------------------------------
def test_rolling_mean_is_the_mean_of_the_seven_days_ending_that_day():
    start = date(2025, 3, 1)
    entries = [entry(start + timedelta(days=i), i + 1) for i in range(10)]  # scores 1..10
    frame = daily_frame(entries, date_from=start, date_to=start + timedelta(days=9))
    assert frame.loc["2025-03-07", "fatigue_7d"] == 4.0  # mean of 1..7
    assert frame.loc["2025-03-10", "fatigue_7d"] == 7.0  # mean of 4..10
    assert np.isnan(frame.loc["2025-03-03", "fatigue_7d"])  # only 3 days so far


def test_rolling_mean_needs_four_of_seven_days_and_skips_gaps():
    start = date(2025, 3, 1)
    entries = [entry(start + timedelta(days=i), 6) for i in (0, 2, 4)]
    entries.append(entry(start + timedelta(days=6), 2))
    frame = daily_frame(entries, date_from=start, date_to=start + timedelta(days=6))
    assert np.isnan(frame.loc["2025-03-05", "joint_pain_7d"])  # 3 of 5 days
    assert frame.loc["2025-03-07", "joint_pain_7d"] == 5.0  # (6+6+6+2)/4
    assert frame["recorded"].sum() == 4
    assert np.isnan(frame.loc["2025-03-02", "joint_pain"])  # a missing day stays missing


def test_the_first_rolling_means_of_a_range_use_the_days_before_it():
    start = date(2025, 3, 1)
    entries = [entry(start + timedelta(days=i), 3) for i in range(-6, 1)]
    frame = daily_frame(entries, date_from=start, date_to=start)
    assert len(frame) == 1
    assert frame.loc["2025-03-01", "fatigue_7d"] == 3.0


def test_weekly_means_run_monday_to_sunday_and_count_flares():
    monday = date(2025, 3, 3)
    entries = [entry(monday + timedelta(days=i), i, flare=i == 2) for i in range(9)]
    weeks = weekly_means_from_frame(
        daily_frame(entries, date_from=monday, date_to=monday + timedelta(days=8))
    )
    assert [(w.week_start, w.week_end) for w in weeks] == [
        (monday, monday + timedelta(days=6)),
        (monday + timedelta(days=7), monday + timedelta(days=8)),
    ]
    assert weeks[0].mean("fatigue") == 3.0  # mean of 0..6
    assert weeks[0].flare_days == 1 and weeks[1].flare_days == 0
    assert weeks[1].days_recorded == 2


def test_weekly_means_of_an_empty_week_are_none():
    monday = date(2025, 3, 3)
    weeks = weekly_means_from_frame(daily_frame([], date_from=monday, date_to=monday))
    assert weeks[0].means["fatigue"] is None and weeks[0].days_recorded == 0


# --- summary -----------------------------------------------------------------------------------
def test_summary_gives_averages_direction_and_flares():
    start = date(2025, 3, 1)
    entries = [
        entry(start + timedelta(days=i), 2 if i < 10 else 6, flare=i == 15) for i in range(20)
    ]
    frame = daily_frame(entries, date_from=start, date_to=start + timedelta(days=19))
    summary = summarise(frame, date_from=start, date_to=start + timedelta(days=19))
    fatigue = next(s for s in summary.symptoms if s.name == "fatigue")
    assert fatigue.average == 4.0
    assert fatigue.direction == "higher"
    assert "higher in the second half of the period (6.0) than in the first (2.0)" in (
        fatigue.sentence
    )
    assert summary.flare_dates == (start + timedelta(days=15),)
    assert summary.days_recorded == 20


def test_summary_does_not_guess_a_direction_from_too_few_days():
    start = date(2025, 3, 1)
    frame = daily_frame([entry(start, 5)], date_from=start, date_to=start + timedelta(days=29))
    summary = summarise(frame, date_from=start, date_to=start + timedelta(days=29))
    assert summary.symptoms[0].direction == ""
    assert "too few entries" in summary.symptoms[0].sentence


# --- figures -----------------------------------------------------------------------------------
def test_symptom_figure_has_rolling_means_flares_and_medicine_bands():
    start = date(2025, 3, 1)
    end = start + timedelta(days=29)
    entries = [entry(start + timedelta(days=i), 4, flare=i in (3, 9)) for i in range(30)]
    frame = daily_frame(entries, date_from=start, date_to=end)
    medicines = [
        MedicinePeriod("Pilocarpine", start + timedelta(days=5), start + timedelta(days=20)),
        MedicinePeriod("Hydroxychloroquine", date(2024, 1, 1), None),
    ]
    data = figure_data(symptom_figure(frame, date_from=start, date_to=end, medicines=medicines))
    names = [t["name"] for t in data["data"]]
    assert "Dry eyes" in names and "Joint pain" in names
    flare = next(t for t in data["data"] if t["name"] == "Flare day")
    assert values(flare["x"]) == ["2025-03-04", "2025-03-10"]
    rolling = next(
        t for t in data["data"] if t["name"] == "Tiredness (fatigue)" and t["mode"] == "lines"
    )
    assert values(rolling["y"])[6] == 4.0
    texts = [a["text"] for a in data["layout"]["annotations"]]
    assert "Started Pilocarpine" in texts and "Stopped Pilocarpine" in texts
    assert "Hydroxychloroquine (ongoing)" in texts
    bands = [s for s in data["layout"]["shapes"] if s["type"] == "rect"]
    assert len(bands) == 2


def test_long_ranges_draw_only_the_rolling_means():
    start = date(2024, 1, 1)
    end = start + timedelta(days=364)
    frame = daily_frame([entry(start, 1)], date_from=start, date_to=end)
    data = figure_data(symptom_figure(frame, date_from=start, date_to=end))
    assert all(t["mode"] != "markers" or t["name"] == "Flare day" for t in data["data"])


def test_esspri_figure_draws_the_acceptable_state_line_at_five():
    data = figure_data(esspri_figure([], date_from=date(2025, 1, 1), date_to=date(2025, 3, 1)))
    lines = [s for s in data["layout"]["shapes"] if s["type"] == "line"]
    assert lines and lines[0]["y0"] == 5 and lines[0]["y1"] == 5
    assert "Acceptable state: below 5" in [a["text"] for a in data["layout"]["annotations"]]


# --- page and API (database) ---------------------------------------------------------------
@pytest.fixture
def alice_days(patient_alice):
    for days_ago in range(12):
        save_day(patient_alice, days_ago, fatigue=3 + days_ago % 3, flare=days_ago == 4)
    return patient_alice


@pytest.mark.django_db
def test_trends_page_renders_charts_from_json_without_inline_script(client, alice_days):
    client.force_login(alice_days)
    response = client.get(TRENDS)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="tr-symptom-data" type="application/json"' in page
    assert 'data-figure="tr-symptom-data"' in page
    for tag in re.findall(r"<script[^>]*>", page):
        assert 'type="application/json"' in tag or "src=" in tag, tag
    assert "/static/vendor/plotly/plotly-basic.min.js" in page
    assert "cdn" not in page.lower()
    assert 'id="plotly.js-style-global" class="no-inline-styles"' in page
    assert "12 of 30 days filled in" in page
    assert "Flares: 1 day" in page
    assert 'aria-current="true">30 days' in page


@pytest.mark.django_db
@pytest.mark.parametrize(("key", "days"), [("90d", 90), ("1y", 365)])
def test_trends_page_ranges(client, alice_days, key, days):
    client.force_login(alice_days)
    page = client.get(TRENDS, {"range": key}).content.decode()
    assert f"12 of {days} days filled in" in page


@pytest.mark.django_db
def test_all_time_starts_at_the_first_entry(client, patient_alice):
    save_day(patient_alice, 400)
    save_day(patient_alice, 0)
    client.force_login(patient_alice)
    page = client.get(TRENDS, {"range": "all"}).content.decode()
    assert "2 of 401 days filled in" in page


@pytest.mark.django_db
def test_an_unknown_range_is_400_with_a_notice(client, patient_alice):
    client.force_login(patient_alice)
    response = client.get(TRENDS, {"range": "forever"})
    assert response.status_code == 400
    assert "There is no range called" in response.content.decode()


@pytest.mark.django_db
def test_medicines_and_esspri_appear_in_the_summary(client, alice_days):
    today = patient_today(alice_days)
    services.medicine_add(
        patient=alice_days, name="Pilocarpine", dose="5", unit="mg",
        schedule="three_times_daily", start_date=today - timedelta(days=10),
    )  # fmt: skip
    from diary.questionnaires.services import questionnaire_submit

    questionnaire_submit(
        patient=alice_days, instrument="esspri", answers={"dryness": 4, "fatigue": 4, "pain": 4}
    )
    client.force_login(alice_days)
    page = client.get(TRENDS).content.decode()
    assert "Started Pilocarpine on" in page
    assert "the latest, 4 on" in page and "below 5 (an acceptable state)" in page
    assert 'id="tr-esspri-data"' in page


@pytest.mark.django_db
def test_trends_for_can_leave_out_medicines_and_questionnaires(alice_days):
    today = patient_today(alice_days)
    services.medicine_add(
        patient=alice_days, name="Pilocarpine", dose="5", unit="mg",
        schedule="once_daily", start_date=today - timedelta(days=3),
    )  # fmt: skip
    data = trends_for(
        patient=alice_days,
        date_from=today - timedelta(days=29),
        date_to=today,
        include_medicines=False,
        include_esspri=False,
    )
    assert data.medicines == [] and data.esspri_figure is None
    assert not data.symptom_figure["layout"].get("shapes")
    assert data.summary.days_recorded == 12


@pytest.mark.django_db
def test_other_roles_cannot_open_the_trends_page(client, clinician_carol):
    anonymous = client.get(TRENDS)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    login_verified(client, clinician_carol)
    assert client.get(TRENDS).status_code == 403


@pytest.mark.django_db
def test_api_returns_daily_series_and_rolling_means(alice_days, patient_bob):
    api = APIClient()
    api.force_login(alice_days)
    today = patient_today(alice_days)
    response = api.get(API, {"from": (today - timedelta(days=13)).isoformat(), "to": today})
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["days"]) == 14
    assert body["days"][0]["fatigue"] is None  # 13 days ago: no entry
    assert body["days"][-1]["fatigue"] == 3
    assert body["days"][-1]["fatigue_7d"] is not None
    assert body["days_recorded"] == 12 and body["flare_days"] == 1
    assert body["rolling_days"] == 7
    bob = APIClient()
    bob.force_login(patient_bob)
    assert bob.get(API).json()["days_recorded"] == 0  # only ever one's own diary


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2025-03-10", "to": "2025-03-01"}, "to"),
        ({"from": "2000-01-01", "to": "2025-01-01"}, "from"),
        ({"from": "yesterday"}, "from"),
    ],
)
def test_api_refuses_bad_ranges(patient_alice, query, field):
    api = APIClient()
    api.force_login(patient_alice)
    response = api.get(API, query)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.django_db
def test_api_is_for_patients_only(clinician_carol):
    api = APIClient()
    assert api.get(API).status_code in (401, 403)
    login_verified(api, clinician_carol)
    assert api.get(API).status_code == 403
