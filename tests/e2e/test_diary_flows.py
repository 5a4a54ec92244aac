"""A patient's day in the browser: saving today from the dashboard in a handful of taps
(issue 3: at most 7 interactions), then seeing it on the dashboard and in the diary."""

from __future__ import annotations

from datetime import timedelta

import pytest

from diary import selectors, services
from tests.e2e.flows import Taps, sign_in
from tests.factories import PatientFactory

pytestmark = pytest.mark.e2e

YESTERDAY = {
    "dryness_eyes": 6,
    "dryness_mouth": 5,
    "dryness_skin": 3,
    "fatigue": 7,
    "muscle_pain": 2,
    "joint_pain": 4,
    "flare": False,
    "factors": ["screen_work"],
    "note": "",
}


def test_patient_saves_today_from_the_dashboard_in_at_most_seven_interactions(browse):
    alice = PatientFactory(email="alice@example.org", display_name="Alice")
    today = selectors.patient_today(alice)
    services.entry_save(patient=alice, entry_date=today - timedelta(days=1), values=YESTERDAY)
    page = browse.page
    sign_in(browse, alice.email)
    assert browse.path == "/"

    taps = Taps(browse)
    taps.follow(page.get_by_role("link", name="Same as yesterday"))
    assert page.get_by_role("status").inner_text().startswith("Filled in from your last entry")
    # The radio lies over its tile (opacity 0), so tapping the tile taps the radio.
    fatigue = page.get_by_role("group", name="Tiredness (fatigue)")
    taps.choose(fatigue.get_by_role("radio", name="5", exact=True))
    taps.submit("Save today")

    assert taps.count <= 7, f"saving a day took {taps.count} interactions"
    assert browse.path == "/"
    assert "Saved your diary" in page.get_by_role("status").inner_text()
    assert page.get_by_text("You have filled in today.").is_visible()
    saved = selectors.entry_on(patient=alice, day=today).values()
    assert saved["fatigue"] == 5
    assert saved["dryness_eyes"] == YESTERDAY["dryness_eyes"]
    assert saved["factors"] == YESTERDAY["factors"]

    browse.click_through(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Diary")
    )


def test_a_first_day_with_missing_scores_is_refused_then_saved(browse):
    bob = PatientFactory(email="bob@example.org")
    page = browse.page
    sign_in(browse, bob.email)
    assert page.get_by_role("link", name="Same as yesterday").count() == 0  # nothing to copy yet
    browse.click_through(page.get_by_role("link", name="Fill in today"))
    page.get_by_role("group", name="Dry eyes").get_by_role("radio", name="3", exact=True).click()
    # The browser itself first stops the form (required radios); the server must refuse it too,
    # for browsers and assistive technology that do not validate, so switch that check off.
    assert not page.evaluate("() => document.querySelector('form.entry-form').checkValidity()")
    page.evaluate("() => { document.querySelector('form.entry-form').noValidate = true; }")
    browse.submit("Save today")

    assert "Nothing was saved" in page.get_by_role("alert").first.inner_text()
    assert selectors.entry_on(patient=bob, day=selectors.patient_today(bob)) is None
    # What was chosen is kept; the missing answers are named.
    assert page.get_by_role("group", name="Dry eyes").get_by_role("radio", name="3").is_checked()
    assert page.get_by_text("Choose a number from 0 to 10 for Dry mouth.").is_visible()

    for symptom in ("Dry mouth", "Dry skin", "Tiredness (fatigue)", "Muscle pain", "Joint pain"):
        page.get_by_role("group", name=symptom).get_by_role("radio", name="4", exact=True).click()
    browse.submit("Save today")
    assert browse.path == "/"
    saved = selectors.entry_on(patient=bob, day=selectors.patient_today(bob)).values()
    assert (saved["dryness_eyes"], saved["joint_pain"], saved["flare"]) == (3, 4, False)
