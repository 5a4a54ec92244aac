"""A patient who chose German in Settings uses the portal in German in a real browser: the day
page (with a dose checklist), trends, a questionnaire (its validated wording left in English and
marked lang="en") and Settings, each with no axe-core violations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from diary import selectors, services
from tests.e2e.flows import sign_in
from tests.factories import PatientFactory

pytestmark = pytest.mark.e2e


def german_patient(email: str):
    patient = PatientFactory(email=email, display_name="Anna", language="de")
    today = selectors.patient_today(patient)
    services.medicine_add(
        patient=patient,
        name="Pilocarpine",
        dose="5",
        unit="mg",
        schedule="twice_daily",
        start_date=today - timedelta(days=5),
        times=["08:00", "20:00"],
    )
    return patient, today


def tap(page, group: str, value: int) -> None:
    # The radio lies over its tile (opacity 0), so tapping the tile taps the radio.
    page.get_by_role("group", name=group, exact=True).get_by_role(
        "radio", name=str(value), exact=True
    ).click()


def test_translated_day_page_trends_questionnaire_and_settings_pass_axe(browse):
    patient, today = german_patient("anna.de@example.org")
    sign_in(browse, patient.email)  # checked with axe as it loads, like every page below
    page = browse.page

    browse.goto(reverse("diary:entry_day", args=[today]))
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.get_by_role("group", name="Trockene Augen", exact=True).is_visible()
    assert page.get_by_role("heading", name="Medikamente für diesen Tag").is_visible()
    assert page.get_by_role("button", name="Heute speichern").is_visible()

    for name in ("Trockene Augen", "Trockener Mund", "Trockene Haut"):
        tap(page, name, 3)
    for name in ("Müdigkeit (Fatigue)", "Muskelschmerzen", "Gelenkschmerzen"):
        tap(page, name, 2)
    browse.submit("Heute speichern")
    assert "ist gespeichert." in page.locator(".messages").inner_text()

    browse.goto(reverse("diary:trends"))
    assert page.get_by_role("heading", name="Verlauf", level=1).is_visible()

    browse.goto(reverse("diary:questionnaire_answer", args=["esspri"]))
    assert page.get_by_role("button", name="Meine Antworten speichern").is_visible()
    assert page.locator('[lang="en"]').count() > 0

    browse.goto(reverse("account_settings"))
    assert page.get_by_label("Sprache").input_value() == "de"
