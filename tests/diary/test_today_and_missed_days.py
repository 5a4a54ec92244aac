"""'Today' is the patient's own calendar day in their time zone (defaulted from the browser at
sign-up), and missed-day lists start at sign-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from diary import selectors
from tests.diary.conftest import save_day
from tests.diary.test_entry_pages import form_data
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


def zone_off_utc_today() -> str:
    """A zone whose calendar day differs from UTC's right now (UTC+14 from 10:00 UTC, UTC-11
    before 11:00 UTC: between them every hour is covered)."""
    utc_today = datetime.now(UTC).date()
    for name in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        if timezone.localdate(timezone=ZoneInfo(name)) != utc_today:
            return name
    raise AssertionError("no zone found off UTC's day")


def test_today_is_the_patients_calendar_day_not_utcs(client, patient_alice):
    patient_alice.time_zone = zone_off_utc_today()
    patient_alice.save()
    utc_today = datetime.now(UTC).date()
    mine = selectors.patient_today(patient_alice)
    assert mine == timezone.localdate(timezone=ZoneInfo(patient_alice.time_zone)) != utc_today
    client.force_login(patient_alice)
    # The patient's own today is saved; UTC's today is refused if it is the patient's tomorrow.
    saved = client.post(reverse("diary:entry_day", args=[mine]), form_data(), **JSON)
    assert saved.status_code == 200 and saved.json()["date"] == mine.isoformat()
    utc_day = client.post(reverse("diary:entry_day", args=[utc_today]), form_data(), **JSON)
    if utc_today > mine:
        assert utc_day.status_code == 400 and "date" in utc_day.json()["errors"]
        assert selectors.entry_on(patient=patient_alice, day=utc_today) is None
    else:
        assert utc_day.status_code == 200  # yesterday for the patient: filled in late


def test_missed_days_start_at_sign_up(client, patient_alice):
    patient_alice.date_joined = timezone.now() - timedelta(days=3)
    patient_alice.save()
    today = selectors.patient_today(patient_alice)
    save_day(patient_alice, days_ago=1)
    missed = selectors.missed_days(patient=patient_alice)
    assert missed == [today, today - timedelta(days=2), today - timedelta(days=3)]
    client.force_login(patient_alice)
    page = client.get(reverse("diary:entry_list"))
    assert page.context["missing"] == missed
    assert (today - timedelta(days=4)).isoformat() not in page.content.decode()


def test_an_older_patient_sees_two_weeks_of_missed_days(patient_alice):
    patient_alice.date_joined = timezone.now() - timedelta(days=100)
    patient_alice.save()
    assert len(selectors.missed_days(patient=patient_alice)) == 14


def test_the_sign_up_day_is_counted_in_the_patients_zone(patient_alice):
    patient_alice.time_zone = "Pacific/Kiritimati"  # UTC+14
    patient_alice.date_joined = datetime(2026, 3, 1, 11, 0, tzinfo=UTC)  # 1 am on 2 March there
    assert selectors.patient_first_day(patient_alice).isoformat() == "2026-03-02"


def test_the_dashboard_week_starts_at_sign_up(client, patient_alice):
    client.force_login(patient_alice)  # joined today
    week = client.get(reverse("home")).context["diary_week"]
    assert [day for day, _ in week] == [selectors.patient_today(patient_alice)]


def test_sign_up_takes_the_browsers_time_zone(client):
    page = client.get("/accounts/signup/").content.decode()
    assert 'data-browser-time-zone=""' in page and "accounts/time_zone.js" in page
    response = client.post(
        "/accounts/signup/",
        {
            "email": "tz@example.org",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "time_zone": "Asia/Tokyo",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(email="tz@example.org").time_zone == "Asia/Tokyo"


def test_sign_up_without_a_browser_zone_keeps_the_default(client):
    client.post(
        "/accounts/signup/",
        {"email": "nojs@example.org", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert User.objects.get(email="nojs@example.org").time_zone == "Europe/London"


def test_sign_up_with_an_unknown_zone_is_a_clear_form_error(client):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "mars@example.org",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "time_zone": "Mars/Olympus_Mons",
        },
    )
    assert response.status_code == 200
    assert "which we do not know" in response.content.decode()
    assert not User.objects.filter(email="mars@example.org").exists()
