"""Browser flows of reminders: the settings page (time, days, channels, quiet hours, time zone)
at every viewport, its error summary, the push button, and the pages behind the links in a
reminder (one-click unsubscribe, a tampered link). axe checks every page."""

from __future__ import annotations

from datetime import time

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from reminders import tokens
from reminders.models import ReminderSettings
from tests.e2e.flows import sign_in
from tests.factories import PatientFactory

pytestmark = pytest.mark.e2e


def open_settings(browse, patient):
    sign_in(browse, patient.email)
    browse.goto("/accounts/settings/")
    browse.click_through(browse.page.get_by_role("link", name="Reminder settings"))
    assert browse.path == "/reminders/"


def test_set_time_days_and_channels(any_browse):
    alice = PatientFactory(email="alice-reminders@example.org")
    open_settings(any_browse, alice)
    page = any_browse.page
    page.get_by_label("Send me a reminder").check()
    page.get_by_label("Reminder time").fill("07:30")
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"):
        page.get_by_label(day).set_checked(day in ("Monday", "Wednesday", "Friday"))
    page.get_by_label("By email").check()
    page.get_by_label("Quiet hours start").fill("22:00")
    page.get_by_label("Quiet hours end").fill("07:00")
    page.get_by_label("Your time zone").select_option("Europe/Paris")
    any_browse.submit("Save reminders")
    assert "Your reminder settings are saved." in page.get_by_role("status").first.inner_text()
    row = ReminderSettings.objects.get(patient=alice)
    assert (row.enabled, row.remind_at, row.day_names, row.channels) == (
        True, time(7, 30), ["mon", "wed", "fri"], ["email"]
    )  # fmt: skip
    assert (row.quiet_start, row.quiet_end) == (time(22, 0), time(7, 0))
    alice.refresh_from_db()
    assert alice.time_zone == "Europe/Paris"
    # The saved values come back into the form.
    assert page.get_by_label("Reminder time").input_value() == "07:30"
    assert page.get_by_label("Wednesday").is_checked()


def test_missing_day_and_channel_show_an_error_summary(browse):
    bob = PatientFactory(email="bob-reminders@example.org")
    open_settings(browse, bob)
    page = browse.page
    page.get_by_label("Send me a reminder").check()
    page.get_by_label("By email").uncheck()
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"):
        page.get_by_label(day).uncheck()
    browse.submit("Save reminders")
    summary = page.get_by_role("alert").inner_text()
    assert "Choose at least one day" in summary and "Choose email, push or both" in summary
    assert not ReminderSettings.objects.filter(patient=bob, enabled=True).exists()


def test_push_button_reports_what_the_browser_could_do(browser, live_server, browse):
    carol = PatientFactory(email="carol-reminders@example.org")
    browse.page.context.grant_permissions(["notifications"], origin=live_server.url)
    open_settings(browse, carol)
    button = browse.page.get_by_role("button", name="Allow notifications on this device")
    assert button.is_visible()
    button.click()
    status = browse.page.locator("#push-status")
    # Headless Chromium refuses push registration, so the page says so; a browser with a push
    # service stores the subscription (the API is tested with real keys in tests/reminders).
    expect(status).not_to_have_text("No device gets notifications yet.", timeout=40_000)
    text = status.inner_text()
    if "could not set up" in text:
        # The service worker registered and activated; the browser refused only the push
        # registration itself (headless Chromium has no push permission or service).
        assert "Registration failed" in status.get_attribute("data-error")
    else:
        assert "will get reminder notifications" in text


def test_unsubscribe_pages_from_a_reminder(browse):
    dan = PatientFactory(email="dan-reminders@example.org")
    ReminderSettings.objects.create(patient=dan, enabled=True, email=True)
    token = tokens.unsubscribe_token(patient=dan.public_id, channel="email", generation=1)
    browse.goto(reverse("reminders:unsubscribe", kwargs={"token": token}))
    browse.submit("Stop these reminders")
    assert "no more email reminders" in browse.page.get_by_role("heading", level=1).inner_text()
    assert ReminderSettings.objects.get(patient=dan).email is False
    browse.goto(reverse("reminders:unsubscribe", kwargs={"token": token[:-4]}), expect_status=400)
    assert browse.page.get_by_role("heading", level=1).inner_text() == "This link is not valid"


def test_push_button_answers_a_german_patient_in_german(browser, live_server, browse):
    # push.js's words come from the JavaScript catalogue (/jsi18n/de/).
    dora = PatientFactory(email="dora-reminders@example.org", language="de")
    browse.page.context.grant_permissions(["notifications"], origin=live_server.url)
    sign_in(browse, dora.email)
    browse.goto(reverse("reminders:settings"))
    button = browse.page.get_by_role("button", name="Benachrichtigungen auf diesem Gerät erlauben")
    button.click()
    status = browse.page.locator("#push-status")
    expect(status).not_to_have_text("Noch kein Gerät erhält Benachrichtigungen.", timeout=40_000)
    text = status.inner_text()
    assert text in (
        # Headless Chromium refuses the push registration itself (see the test above).
        "Dieser Browser konnte hier keine Benachrichtigungen einrichten.",
        "Dieses Gerät erhält Erinnerungen als Benachrichtigung. Wählen Sie oben "
        "„Als Benachrichtigung“ und speichern Sie, falls noch nicht geschehen.",
    ), text
    assert "notifications" not in text
    browse.check()
