"""The EQ VAS is an accessible vertical slider (100 at the top) with the chosen number shown in a
box, as the instrument presents it; keyboard and typing both work, and the number is what is
saved. Without a choice nothing is filled in for the patient."""

from __future__ import annotations

import pytest

from diary.models import QuestionnaireResponse
from diary.selectors import questionnaire_get
from tests.e2e.flows import sign_in
from tests.factories import PatientFactory

pytestmark = pytest.mark.e2e


def test_patient_rates_their_health_with_the_slider(any_browse):
    pat = PatientFactory(email="pat@example.org")
    page = any_browse.page
    sign_in(any_browse, pat.email)
    any_browse.goto("/diary/questionnaires/eq5d5l/")
    slider = page.get_by_role("slider")
    number = page.get_by_label("Your health today, 0 to 100")
    output = page.locator("output.vas-value")
    assert slider.is_visible() and output.inner_text() == "not chosen yet"
    assert number.input_value() == ""  # no score chosen for the patient

    slider.focus()
    for _ in range(3):
        page.keyboard.press("ArrowUp")
    assert number.input_value() == "53" and output.inner_text() == "53"
    assert slider.get_attribute("aria-valuetext") == "53 out of 100"
    number.fill("72")
    assert slider.input_value() == "72" and output.inner_text() == "72"
    box = slider.bounding_box()
    assert box["height"] > box["width"]  # vertical, as on the paper form

    for item in ("Mobility", "Self-care", "Usual activities", "Pain", "Anxiety"):
        page.locator("fieldset.q-item", has_text=item).locator("input[type=radio]").first.check()
    any_browse.submit("Save my answers")
    stored = QuestionnaireResponse.objects.get(patient=pat, instrument="eq5d5l")
    assert questionnaire_get(patient=pat, response_id=stored.id).score == 72  # sealed
