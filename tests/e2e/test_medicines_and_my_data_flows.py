"""A patient's medicines and their own data in the browser: add a medicine from the common list,
tick off the day's doses, change the dose, stop it; amend a past day; download everything;
delete the account (issue 3)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest

from accounts.models import User
from diary import selectors, services
from diary.models import DailyEntry, PatientKey
from tests.e2e.flows import sign_in
from tests.factories import PatientFactory

pytestmark = pytest.mark.e2e

A_DAY = {
    "dryness_eyes": 6,
    "dryness_mouth": 5,
    "dryness_skin": 3,
    "fatigue": 7,
    "muscle_pain": 2,
    "joint_pain": 4,
    "flare": False,
    "factors": [],
    "note": "",
}


def _nav(page, name):
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True)


def test_patient_adds_ticks_changes_and_stops_a_medicine(browse):
    alice = PatientFactory(email="alice@example.org")
    today = selectors.patient_today(alice)
    started = today - timedelta(days=6)
    page = browse.page
    sign_in(browse, alice.email)

    browse.click_through(_nav(page, "Medicines"))
    browse.click_through(page.get_by_role("link", name="Add a medicine"))
    page.get_by_label("Medicine", exact=True).select_option("Hydroxychloroquine")
    page.get_by_label("Dose", exact=True).fill("200")
    page.get_by_label("Unit", exact=True).fill("mg")
    page.get_by_label("How often").select_option(label="Twice a day")
    page.get_by_label("Started on").fill(started.isoformat())
    browse.submit("Add medicine")
    assert page.get_by_role("heading", name="Hydroxychloroquine").is_visible()
    (medicine,) = selectors.medicines_for(patient=alice)
    assert (medicine.name, medicine.dose, medicine.schedule) == (
        "Hydroxychloroquine",
        "200",
        "twice_daily",
    )

    # Today's checklist is part of the day's form: one dose taken, one missed, saved before the
    # day's scores are filled in.
    browse.goto(f"/diary/day/{today.isoformat()}/")
    doses = page.get_by_role("region", name="Medicines for this day")
    doses.get_by_role("group").nth(0).get_by_role("radio", name="Taken").check()
    doses.get_by_role("group").nth(1).get_by_role("radio", name="Missed").check()
    browse.submit("Save today")
    assert "Saved 2 doses" in page.get_by_role("status").inner_text()
    statuses = sorted(
        log.status
        for log in selectors.dose_logs_between(patient=alice, date_from=today, date_to=today)
    )
    assert statuses == ["missed", "taken"]

    browse.click_through(_nav(page, "Medicines"))
    adherence = page.get_by_role("table", name="Doses from")
    row = adherence.get_by_role("row", name="Hydroxychloroquine")
    assert row.get_by_role("cell").nth(1).inner_text() == "1"  # taken

    browse.click_through(page.get_by_role("link", name="Change dose of Hydroxychloroquine"))
    page.get_by_label("New dose").fill("300")
    page.get_by_label("From").fill(today.isoformat())
    browse.submit("Save the new dose")
    (medicine,) = selectors.medicines_for(patient=alice)
    assert medicine.dose == "300"
    assert [h.dose for h in medicine.history] == ["200", "300"]

    browse.click_through(page.get_by_role("link", name="Stop Hydroxychloroquine"))
    page.get_by_label("Last day taken").fill(today.isoformat())
    browse.submit("Record that I stopped")
    (medicine,) = selectors.medicines_for(patient=alice)
    assert medicine.end_date == today
    # Today was the last day, so it is listed as still taken today, with its end.
    assert page.get_by_text(f"until {today.day} {today:%B %Y}").is_visible()


def test_patient_amends_a_past_day_downloads_their_data_then_deletes_the_account(browse):
    alice = PatientFactory(email="alice@example.org")
    today = selectors.patient_today(alice)
    past = today - timedelta(days=3)
    services.entry_save(patient=alice, entry_date=past, values=A_DAY)
    page = browse.page
    sign_in(browse, alice.email)

    browse.click_through(_nav(page, "Diary"))
    browse.click_through(page.get_by_role("link", name=past.strftime("%a %-d %b %Y")))
    assert page.get_by_text("Changes are kept as an amendment").is_visible()
    page.get_by_role("group", name="Joint pain").get_by_role("radio", name="8", exact=True).click()
    browse.submit("Save this day")
    amended = selectors.entry_on(patient=alice, day=past)
    assert amended.values()["joint_pain"] == 8
    assert amended.amended_at is not None
    browse.goto("/diary/")
    assert page.get_by_text("amended").first.is_visible()

    browse.goto("/diary/my-data/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download all my data").click()
    archive = zipfile.ZipFile(io.BytesIO(download.value.path().read_bytes()))
    names = archive.namelist()
    assert any(n.endswith(".csv") for n in names) and any("fhir" in n.lower() for n in names)
    entries = json.loads(archive.read("diary.json"))["entries"]
    assert [e["joint_pain"] for e in entries] == [8]

    browse.click_through(page.get_by_role("link", name="Delete my account"))
    page.get_by_label("Your password").fill("not my password")
    page.get_by_label("I understand").check()
    browse.submit("Delete my account for good")
    assert "That password is not right." in page.content()
    assert User.objects.filter(pk=alice.pk).exists()

    from tests.factories import PASSWORD

    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_label("I understand").check()
    browse.submit("Delete my account for good")
    assert (
        "Your account and your diary have been deleted." in page.get_by_role("status").inner_text()
    )
    assert not User.objects.filter(pk=alice.pk).exists()
    assert not DailyEntry.objects.filter(patient_id=alice.pk).exists()
    assert not PatientKey.objects.filter(patient_id=alice.pk, destroyed_at__isnull=True).exists()
