"""Questionnaires and trends in the browser: the dashboard says what is due, a patient answers it
with the radio groups, and the trend charts draw from static plotly.js under the strict CSP (any
CSP violation or JavaScript error fails the test; axe runs on every page)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from diary import selectors, services
from diary.models import QuestionnaireResponse
from diary.questionnaires.services import questionnaire_submit
from tests.e2e.flows import sign_in
from tests.factories import PatientFactory

pytestmark = pytest.mark.e2e


def _seed_days(patient, days: int) -> None:
    today = selectors.patient_today(patient)
    for n in range(days):
        score = 3 + (n % 5)
        services.entry_save(
            patient=patient,
            entry_date=today - timedelta(days=n),
            values={
                "dryness_eyes": score, "dryness_mouth": score, "dryness_skin": 2,
                "fatigue": 8 - score, "muscle_pain": 3, "joint_pain": 4,
                "flare": n in (5, 6), "factors": [], "note": "",
            },
        )  # fmt: skip


def test_patient_answers_the_due_esspri_from_the_dashboard(browse):
    alice = PatientFactory(email="alice@example.org")
    page = browse.page
    sign_in(browse, alice.email)
    due = page.get_by_role("region", name="Questionnaires due")
    browse.click_through(due.get_by_role("link", name="Answer the ESSPRI"))

    for item, value in (("Dryness", "5"), ("Tiredness", "6"), ("Pain", "7")):
        group = page.get_by_role("group", name=item)
        group.get_by_role("radio", name=value, exact=True).check()
    browse.submit("Save my answers")

    assert "Your ESSPRI score is 6." in page.get_by_role("status").inner_text()
    stored = QuestionnaireResponse.objects.get(patient=alice)
    assert selectors.questionnaire_get(patient=alice, response_id=stored.id).score == 6.0
    browse.click_through(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Questionnaires")
    )
    assert page.get_by_text("Not due yet").first.is_visible()
    browse.click_through(page.get_by_role("link", name="ESSPRI history"))
    assert page.get_by_role("cell", name="6", exact=True).is_visible()


def test_an_incomplete_osdi_shows_an_error_summary(any_browse):
    bob = PatientFactory(email="bob@example.org")
    page = any_browse.page
    sign_in(any_browse, bob.email)
    any_browse.goto("/diary/questionnaires/osdi/")
    page.get_by_role("group", name="Eyes that are bothered by light").get_by_role(
        "radio", name="Some of the time"
    ).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save my answers").click()
    any_browse.check()
    assert "There is a problem" in page.get_by_role("alert").first.inner_text()
    assert not QuestionnaireResponse.objects.exists()


def test_trends_charts_draw_with_a_summary_beside_them(any_browse):
    carl = PatientFactory(email="carl@example.org")
    _seed_days(carl, 40)
    today = selectors.patient_today(carl)
    services.medicine_add(
        patient=carl, name="Pilocarpine", dose="5", unit="mg", schedule="three_times_daily",
        start_date=today - timedelta(days=20),
    )  # fmt: skip
    questionnaire_submit(
        patient=carl, instrument="esspri", answers={"dryness": 6, "fatigue": 4, "pain": 3}
    )
    page = any_browse.page
    sign_in(any_browse, carl.email)
    any_browse.click_through(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Trends")
    )
    page.wait_for_selector("#main .chart-drawn .main-svg")
    assert page.locator(".chart-drawn").count() == 2  # symptoms and ESSPRI
    summary = page.get_by_role("complementary", name="Summary")
    assert "30 of 30 days filled in" in summary.inner_text()
    assert "Started Pilocarpine" in summary.inner_text()
    any_browse.check()  # again, now that plotly has drawn into the page

    any_browse.click_through(page.get_by_role("link", name="A year"))
    page.wait_for_selector("#main .chart-drawn .main-svg")
    assert "40 of 365 days filled in" in page.get_by_role("complementary").inner_text()
    any_browse.check()
