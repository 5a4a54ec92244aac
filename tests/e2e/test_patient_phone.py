"""A patient's pages on a 360 x 740 phone: the header (brand, Sign out, main menu) takes at most
15% of the screen height, every button and link of the page is reachable without sideways
scrolling, and the diary table shows every column (a card per day)."""

from __future__ import annotations

import pytest

from tests.e2e.flows import sign_in
from tests.e2e.test_questionnaire_trends_flows import _seed_days
from tests.factories import PatientFactory

pytestmark = pytest.mark.e2e

PHONE_HEIGHT = 740
PATIENT_PAGES = [
    "/", "/diary/", "/diary/today/", "/diary/medicines/", "/diary/questionnaires/",
    "/diary/trends/", "/diary/trends/bad-days/", "/consent/", "/accounts/settings/",
    "/diary/my-data/",
]  # fmt: skip

# Buttons, links and form controls whose box sticks out of the viewport sideways (the skip link
# waits off-screen until focused, by design).
OUT_OF_REACH = """(width) => Array.from(document.querySelectorAll(
    'a[href]:not(.skip-link), button, input:not([type=hidden]), select, textarea, summary'))
  .filter(e => { const r = e.getBoundingClientRect();
                 return r.width > 0 && (r.left < -1 || r.right > width + 1); })
  .map(e => e.outerHTML.slice(0, 80))"""


@pytest.fixture
def phone(browser, live_server):
    from tests.e2e.conftest import PHONE, _new_browse

    yield from _new_browse(browser, live_server, PHONE)


def test_patient_pages_fit_a_phone(phone):
    pat = PatientFactory(email="pat@example.org", display_name="Patricia Longname-Example")
    _seed_days(pat, 12)
    sign_in(phone, pat.email)
    for path in PATIENT_PAGES:
        phone.goto(path)
        if path == "/":
            phone.screenshot("home-header")
        header = phone.page.locator("header.site-header").bounding_box()
        assert header["height"] <= 0.15 * PHONE_HEIGHT, f"{path}: header {header['height']} px"
        assert phone.page.evaluate(OUT_OF_REACH, 360) == [], path


def test_diary_table_shows_every_column_as_a_card_per_day(phone):
    pat = PatientFactory(email="pat@example.org")
    _seed_days(pat, 3)
    sign_in(phone, pat.email)
    phone.goto("/diary/")
    row = phone.page.locator("table.entries tbody tr").first
    for label in ("Eyes", "Mouth", "Skin", "Tiredness", "Muscles", "Joints", "Flare"):
        cell = row.locator(f'td[data-label="{label}"]')
        box = cell.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360, label
        assert cell.is_visible()
    label = "(c) => getComputedStyle(c, '::before').content"
    assert row.locator('td[data-label="Eyes"]').evaluate(label) == '"Eyes: "'  # named values
    phone.screenshot("diary-cards")
