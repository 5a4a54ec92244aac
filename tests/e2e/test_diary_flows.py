"""A patient's day in the browser (issue 12): a complete day, doses included, in at most seven
interactions from opening the app (four with "same as yesterday"); bad answers are refused with
everything typed kept; and nothing typed is lost by pressing any other button on the page."""

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
SYMPTOMS = ("Dry eyes", "Dry mouth", "Dry skin", "Tiredness (fatigue)", "Muscle pain", "Joint pain")


def patient_with_medicine(email: str, *, joined_days_ago: int = 0):
    from django.utils import timezone

    patient = PatientFactory(
        email=email,
        display_name="Alice",
        date_joined=timezone.now() - timedelta(days=joined_days_ago),
    )
    today = selectors.patient_today(patient)
    medicine = services.medicine_add(
        patient=patient,
        name="Pilocarpine",
        dose="5",
        unit="mg",
        schedule="twice_daily",
        start_date=today - timedelta(days=5),
        times=["08:00", "20:00"],
    )
    return patient, medicine, today


def doses_of(patient, day) -> dict:
    logs = selectors.dose_logs_between(patient=patient, date_from=day, date_to=day)
    return {log.slot: log.status for log in logs}


def scale(page, name: str, value: int):
    # The radio lies over its tile (opacity 0), so tapping the tile taps the radio.
    group = page.get_by_role("group", name=name, exact=True)
    return group.get_by_role("radio", name=str(value), exact=True)


def test_a_complete_first_day_with_doses_takes_at_most_seven_interactions(any_browse):
    # On a desktop, a 360 px phone and at 200% zoom (axe and reflow checked on each page).
    browse = any_browse
    alice, _, today = patient_with_medicine("alice@example.org")
    page = browse.page
    sign_in(browse, alice.email)
    assert browse.path == "/"  # opening the app: today's form is right there

    taps = Taps(browse)
    for symptom, value in zip(SYMPTOMS, (3, 4, 2, 6, 1, 5), strict=True):
        taps.choose(scale(page, symptom, value))
    assert page.get_by_text("Pilocarpine 5 mg, 08:00").is_visible()
    assert page.get_by_text("Pilocarpine 5 mg, 20:00").is_visible()
    browse.screenshot("day-on-dashboard")
    taps.submit("All taken as planned, save")

    assert taps.count <= 7, f"a complete day took {taps.count} interactions"
    assert browse.path == "/"
    assert "Saved your diary" in page.get_by_role("status").inner_text()
    assert page.get_by_text("You have filled in today.").is_visible()
    saved = selectors.entry_on(patient=alice, day=today).values()
    assert (saved["dryness_eyes"], saved["fatigue"], saved["joint_pain"]) == (3, 6, 5)
    assert doses_of(alice, today) == {1: "taken", 2: "taken"}


def test_same_as_yesterday_with_doses_takes_at_most_four_interactions(browse):
    alice, medicine, today = patient_with_medicine("alice@example.org", joined_days_ago=3)
    services.day_save(
        patient=alice,
        entry_date=today - timedelta(days=1),
        values=YESTERDAY,
        doses=[(medicine.id, 1, "taken"), (medicine.id, 2, "missed")],
    )
    page = browse.page
    sign_in(browse, alice.email)
    assert browse.path == "/"

    taps = Taps(browse)
    taps.follow(page.get_by_role("link", name="Same as yesterday"))
    assert page.get_by_role("status").inner_text().startswith("Filled in from your last entry")
    taps.choose(scale(page, "Tiredness (fatigue)", 5))
    browse.screenshot("day-same-as-yesterday")
    taps.submit("Save today")

    assert taps.count <= 4, f"same as yesterday took {taps.count} interactions"
    assert browse.path == "/"
    assert "Saved your diary" in page.get_by_role("status").inner_text()
    saved = selectors.entry_on(patient=alice, day=today).values()
    assert saved["fatigue"] == 5
    assert saved["dryness_eyes"] == YESTERDAY["dryness_eyes"]
    assert saved["factors"] == YESTERDAY["factors"]
    assert doses_of(alice, today) == {1: "taken", 2: "missed"}

    browse.click_through(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Diary")
    )


def test_a_first_day_with_missing_scores_is_refused_then_saved(browse):
    bob = PatientFactory(email="bob@example.org")
    page = browse.page
    sign_in(browse, bob.email)
    assert page.get_by_role("link", name="Same as yesterday").count() == 0  # nothing to copy yet
    scale(page, "Dry eyes", 3).click()
    page.get_by_label("Note").fill("a long day")
    # The form is not left to the browser's own validation (GOV.UK advice): the server names
    # every missing answer, next to its question, and keeps what was typed.
    browse.submit("Save today")

    assert "Nothing was saved" in page.get_by_role("alert").first.inner_text()
    assert selectors.entry_on(patient=bob, day=selectors.patient_today(bob)) is None
    # What was chosen and typed is kept; the missing answers are named.
    assert scale(page, "Dry eyes", 3).is_checked()
    assert page.get_by_label("Note").input_value() == "a long day"
    assert page.get_by_text("Choose a number from 0 to 10 for Dry mouth.").is_visible()

    for symptom in SYMPTOMS[1:]:
        scale(page, symptom, 4).click()
    browse.submit("Save today")
    assert browse.path == "/"
    saved = selectors.entry_on(patient=bob, day=selectors.patient_today(bob)).values()
    assert (saved["dryness_eyes"], saved["joint_pain"], saved["note"]) == (3, 4, "a long day")


def test_typing_then_pressing_any_other_button_loses_nothing(browse):
    alice, _, today = patient_with_medicine("alice@example.org", joined_days_ago=3)
    services.day_save(patient=alice, entry_date=today, values=YESTERDAY)
    page = browse.page
    sign_in(browse, alice.email)
    browse.goto(f"/diary/day/{today.isoformat()}/")
    prompts: list[str] = []

    def stay(dialog) -> None:
        prompts.append(dialog.type)
        dialog.dismiss()  # "Stay on this page"

    page.on("dialog", stay)
    scale(page, "Tiredness (fatigue)", 9).click()
    scale(page, "Joint pain", 8).click()
    page.get_by_label("Note").fill("typed, not saved yet")

    others = [
        page.get_by_role("button", name="Delete this day's entry"),
        page.get_by_role("link", name="Previous day"),
        page.get_by_role("link", name="All days"),
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Medicines"),
    ]
    for number, other in enumerate(others, start=1):
        other.click()
        for _ in range(100):  # the prompt is answered by `stay` as soon as it opens
            if len(prompts) >= number:
                break
            page.wait_for_timeout(50)
        assert len(prompts) == number, f"no 'unsaved changes' prompt for button {number}"
        assert browse.path == f"/diary/day/{today.isoformat()}/"
        assert scale(page, "Tiredness (fatigue)", 9).is_checked()
        assert page.get_by_label("Note").input_value() == "typed, not saved yet"
    assert set(prompts) == {"beforeunload"}
    assert selectors.entry_on(patient=alice, day=today).fatigue == YESTERDAY["fatigue"]

    # The day's own buttons save everything typed, without a prompt.
    browse.submit("All taken as planned, save")
    assert len(prompts) == len(others)
    saved = selectors.entry_on(patient=alice, day=today).values()
    assert (saved["fatigue"], saved["joint_pain"], saved["note"]) == (9, 8, "typed, not saved yet")
    assert doses_of(alice, today) == {1: "taken", 2: "taken"}


def test_a_day_changed_on_another_device_shows_both_versions_and_keeps_mine(browse):
    alice, _, today = patient_with_medicine("alice@example.org", joined_days_ago=3)
    services.day_save(patient=alice, entry_date=today, values=YESTERDAY)
    page = browse.page
    sign_in(browse, alice.email)
    browse.goto(f"/diary/day/{today.isoformat()}/")
    # Meanwhile the phone saves the day with another note.
    services.day_save(patient=alice, entry_date=today, values={**YESTERDAY, "note": "from phone"})
    scale(page, "Tiredness (fatigue)", 2).click()
    page.get_by_label("Note").fill("from laptop")
    browse.submit("Save today")

    assert page.get_by_role("heading", name="This day was changed somewhere else").is_visible()
    table = page.get_by_role("table", name="Your version and the saved one")
    note_row = table.get_by_role("row", name="Note")
    assert "from laptop" in note_row.inner_text() and "from phone" in note_row.inner_text()
    assert selectors.entry_on(patient=alice, day=today).note == "from phone"  # not overwritten
    browse.screenshot("day-conflict")
    browse.submit("Keep mine")
    saved = selectors.entry_on(patient=alice, day=today).values()
    assert (saved["note"], saved["fatigue"]) == ("from laptop", 2)
