"""The patient's reminder settings, on the page and through the API, and every bad input."""

from __future__ import annotations

from datetime import time

import pytest
from rest_framework.test import APIClient

from reminders.models import PushSubscription, ReminderSettings
from tests.personas import login_verified
from tests.reminders.conftest import enable_reminders, new_browser_keys

API = "/api/v1/reminders/settings/"
SUBS = "/api/v1/reminders/push-subscriptions/"
GOOD = {"enabled": True, "time": "20:30", "days": ["mon", "wed"], "channels": ["email"]}


@pytest.fixture
def alice_api(patient_alice):
    client = APIClient()
    client.force_login(patient_alice)
    return client


def test_settings_page_saves_time_days_channels_and_time_zone(client, patient_alice):
    client.force_login(patient_alice)
    page = client.get("/reminders/")
    assert page.status_code == 200 and b"Reminder time" in page.content
    response = client.post(
        "/reminders/",
        {
            "enabled": "on",
            "remind_at": "07:45",
            "days": ["mon", "fri"],
            "push": "on",
            "quiet_start": "22:00",
            "quiet_end": "07:00",
            "time_zone": "America/Chicago",
        },
    )
    assert response.status_code == 302
    row = ReminderSettings.objects.get(patient=patient_alice)
    assert (row.enabled, row.remind_at, row.day_names, row.channels) == (
        True, time(7, 45), ["mon", "fri"], ["push"]
    )  # fmt: skip
    assert (row.quiet_start, row.quiet_end) == (time(22, 0), time(7, 0))
    patient_alice.refresh_from_db()
    assert patient_alice.time_zone == "America/Chicago"


def test_the_account_settings_page_links_to_reminders(client, patient_alice):
    client.force_login(patient_alice)
    assert b'href="/reminders/"' in client.get("/accounts/settings/").content


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("remind_at", "25:00", b"HH:MM on the 24-hour clock"),
        ("remind_at", "7pm", b"HH:MM on the 24-hour clock"),
        ("time_zone", "Mars/Olympus_Mons", b"is not a known time zone"),
        ("quiet_start", "24:10", b"HH:MM on the 24-hour clock"),
    ],
)
def test_settings_page_bad_input_is_a_form_error_and_nothing_changes(
    client, patient_alice, field, value, message
):
    enable_reminders(patient_alice, remind_at=time(19, 0))
    client.force_login(patient_alice)
    data = {"enabled": "on", "remind_at": "08:00", "days": ["mon"], "email": "on",
            "time_zone": "Europe/Paris", field: value}  # fmt: skip
    response = client.post("/reminders/", data)
    assert response.status_code == 400
    assert message in response.content
    assert ReminderSettings.objects.get(patient=patient_alice).remind_at == time(19, 0)
    patient_alice.refresh_from_db()
    assert patient_alice.time_zone == "Europe/London"


def test_settings_page_asks_for_a_channel_and_a_day(client, patient_alice):
    client.force_login(patient_alice)
    response = client.post(
        "/reminders/", {"enabled": "on", "remind_at": "08:00", "time_zone": "Europe/London"}
    )
    assert response.status_code == 400
    assert b"Choose at least one day" in response.content
    assert b"Choose email, push or both" in response.content
    assert not ReminderSettings.objects.exists()


def test_clinician_cannot_open_the_reminder_page(client, clinician_carol):
    login_verified(client, clinician_carol)
    assert client.get("/reminders/").status_code == 403


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/reminders/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_api_reads_and_replaces_settings(alice_api, patient_alice):
    assert alice_api.get(API).json()["enabled"] is False
    response = alice_api.put(API, {**GOOD, "time_zone": "Asia/Tokyo"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "enabled": True, "time": "20:30", "days": ["mon", "wed"], "channels": ["email"],
        "quiet_start": None, "quiet_end": None, "time_zone": "Asia/Tokyo",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        ({"time": "8.30"}, "time", "HH:MM"),
        ({"time": "20:60"}, "time", "HH:MM"),
        ({"time": 2030}, "time", "HH:MM"),
        ({"time_zone": "Europe/Atlantis"}, "time_zone", "not a known time zone"),
        ({"days": ["someday"]}, "days", "not a valid choice"),
        ({"channels": ["pigeon"]}, "channels", "not a valid choice"),
        ({"quiet_start": "22:00"}, "quiet_end", "both ends"),
    ],
)
def test_api_bad_input_is_a_clear_400_and_nothing_is_stored(
    alice_api, patient_alice, change, field, text
):
    enable_reminders(patient_alice, remind_at=time(19, 0))
    response = alice_api.put(API, {**GOOD, **change}, format="json")
    assert response.status_code == 400
    assert text in str(response.json()[field])
    assert ReminderSettings.objects.get(patient=patient_alice).remind_at == time(19, 0)
    patient_alice.refresh_from_db()
    assert patient_alice.time_zone == "Europe/London"


def test_api_refuses_clinicians(clinician_carol):
    client = APIClient()
    login_verified(client, clinician_carol)
    assert client.get(API).status_code == 403
    assert client.post(SUBS, {}, format="json").status_code == 403


def test_push_subscription_is_stored_listed_and_removed(alice_api, patient_alice, settings):
    keys = new_browser_keys()
    endpoint = "https://push.example.net/send/abc123"
    body = {"endpoint": endpoint, "keys": {"p256dh": keys.p256dh, "auth": keys.auth}}
    response = alice_api.post(SUBS, body, format="json")
    assert response.status_code == 201
    assert response.json()["push_service"] == "push.example.net"
    listed = alice_api.get(SUBS).json()
    assert listed["vapid_public_key"] == settings.VAPID_PUBLIC_KEY
    assert len(listed["subscriptions"]) == 1
    # The same browser subscribing again updates, never duplicates.
    assert alice_api.post(SUBS, body, format="json").status_code == 201
    assert PushSubscription.objects.count() == 1
    assert alice_api.delete(SUBS, {"endpoint": endpoint}, format="json").status_code == 204
    assert alice_api.delete(SUBS, {"endpoint": endpoint}, format="json").status_code == 404


def _bad(keys, **change):
    body = {"endpoint": "https://push.example.net/x", "keys": {"p256dh": keys.p256dh,
            "auth": keys.auth}}  # fmt: skip
    for name, value in change.items():
        if name == "endpoint":
            body["endpoint"] = value
        else:
            body["keys"][name] = value
    return body


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"endpoint": "http://push.example.net/x"}, "endpoint"),
        ({"endpoint": "https://10.1.2.3/x"}, "endpoint"),
        ({"endpoint": "https://169.254.169.254/latest"}, "endpoint"),
        ({"endpoint": "ftp://push.example.net/x"}, "endpoint"),
        ({"endpoint": "not a url"}, "endpoint"),
        ({"endpoint": "https://user:pw@push.example.net/x"}, "endpoint"),
        ({"p256dh": "AAAA"}, "keys"),
        ({"p256dh": "not*base64url!"}, "keys"),
        ({"auth": "c2hvcnQ"}, "keys"),
        ({"auth": "A" * 40}, "keys"),
    ],
)
def test_a_bad_subscription_is_a_clear_400(alice_api, change, where):
    response = alice_api.post(SUBS, _bad(new_browser_keys(), **change), format="json")
    assert response.status_code == 400
    assert where in response.json()
    assert not PushSubscription.objects.exists()


def test_loopback_push_endpoints_only_outside_production(alice_api, settings):
    settings.REMINDERS_ALLOW_LOOPBACK_PUSH = False
    body = _bad(new_browser_keys(), endpoint="http://127.0.0.1:8151/push/x")
    assert alice_api.post(SUBS, body, format="json").status_code == 400
    settings.REMINDERS_ALLOW_LOOPBACK_PUSH = True
    assert alice_api.post(SUBS, body, format="json").status_code == 201


def test_missing_keys_are_a_400(alice_api):
    response = alice_api.post(SUBS, {"endpoint": "https://push.example.net/x"}, format="json")
    assert response.status_code == 400 and "keys" in response.json()
