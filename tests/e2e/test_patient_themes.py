"""The dark theme follows the system setting (emulated prefers-color-scheme: dark) and the text
size setting scales every page: in both, axe-core finds no violation (colour contrast included)
on the patient's pages, and at the largest text size nothing scrolls sideways on a phone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from diary import selectors
from tests.e2e.flows import sign_in
from tests.e2e.test_questionnaire_trends_flows import _seed_days
from tests.factories import PatientFactory
from tests.questionnaire_data import eq5d, esspri, osdi

pytestmark = pytest.mark.e2e

PAGES = [
    "/", "/diary/", "/diary/today/", "/diary/medicines/", "/diary/medicines/add/",
    "/diary/questionnaires/", "/diary/questionnaires/eq5d5l/", "/diary/questionnaires/osdi/",
    "/diary/trends/", "/diary/trends/bad-days/", "/consent/", "/accounts/settings/",
    "/diary/my-data/", "/diary/trends/summary/", "/privacy/", "/terms/",
]  # fmt: skip


def _patient(**kwargs):
    pat = PatientFactory(email="pat@example.org", **kwargs)
    _seed_days(pat, 10)
    today = selectors.patient_today(pat)
    esspri(pat, today - timedelta(days=20), 7, 6, 5)
    osdi(pat, today - timedelta(days=5), 1)
    eq5d(pat, today - timedelta(days=5), (1, 2, 2, 3, 1), 60)
    return pat


def _background(page) -> str:
    return page.evaluate("() => getComputedStyle(document.body).backgroundColor")


def test_dark_theme_follows_the_system_and_passes_axe(any_browse):
    pat = _patient()
    page = any_browse.page
    page.emulate_media(color_scheme="dark")
    sign_in(any_browse, pat.email)
    for path in PAGES:
        any_browse.goto(path)  # axe (contrast included) runs on each
        assert _background(page) == "rgb(20, 21, 23)", path
    any_browse.goto("/diary/trends/")
    page.wait_for_selector("#main .chart-drawn .main-svg")
    any_browse.check()
    any_browse.screenshot("trends-dark")


def test_light_theme_stays_the_default(browse):
    pat = _patient()
    browse.page.emulate_media(color_scheme="light")
    sign_in(browse, pat.email)
    assert _background(browse.page) == "rgb(247, 247, 244)"


def test_largest_text_size_reflows_on_a_phone(browser, live_server):
    from tests.e2e.conftest import PHONE, _new_browse

    pat = _patient(text_size=200)
    for browse in _new_browse(browser, live_server, PHONE):
        sign_in(browse, pat.email)
        for path in PAGES:
            browse.goto(path)  # axe, and nothing scrolls sideways at 360 px
        size = browse.page.evaluate("() => getComputedStyle(document.documentElement).fontSize")
        assert size == "32px"
        browse.screenshot("text-200")


def test_public_pages_of_words_pass_axe_in_both_themes(any_browse):
    for scheme in ("light", "dark"):
        any_browse.page.emulate_media(color_scheme=scheme)
        for path in ("/privacy/", "/terms/", "/accounts/confirm-email/resend/"):
            any_browse.goto(path)
        any_browse.submit("Send the email again")  # empty: the error is shown and linked
        assert "There is a problem" in any_browse.page.locator("main").inner_text()
