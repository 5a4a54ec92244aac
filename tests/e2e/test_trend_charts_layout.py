"""The trend charts at every width (desktop, 360 px phone, 200% zoom): all six charts draw, and
no label, tick, legend entry or annotation is cut off by the chart's edges; the "bad days"
page reads at every width too."""

from __future__ import annotations

from datetime import timedelta

import pytest

from diary import selectors, services
from tests.e2e.flows import sign_in
from tests.e2e.test_questionnaire_trends_flows import _seed_days
from tests.factories import PatientFactory
from tests.questionnaire_data import eq5d, esspri, osdi

pytestmark = pytest.mark.e2e

# Every non-empty <text> of every drawn chart whose box leaves the chart's own box.
CLIPPED_TEXT = """() => {
  const out = [];
  for (const chart of document.querySelectorAll('.chart-drawn')) {
    const box = chart.getBoundingClientRect();
    for (const t of chart.querySelectorAll('svg text')) {
      const r = t.getBoundingClientRect();
      if (!t.textContent.trim() || r.width === 0) continue;
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1
          || r.bottom > box.bottom + 1) {
        out.push(chart.getAttribute('data-figure') + ': ' + t.textContent.trim());
      }
    }
  }
  return out;
}"""


def test_every_chart_label_fits_inside_its_chart(any_browse):
    pat = PatientFactory(email="pat@example.org")
    _seed_days(pat, 40)
    today = selectors.patient_today(pat)
    services.medicine_add(
        patient=pat, name="Hydroxychloroquine", dose="200", unit="mg", schedule="once_daily",
        start_date=today - timedelta(days=3),
    )  # fmt: skip
    esspri(pat, today - timedelta(days=28), 7, 6, 5)
    esspri(pat, today - timedelta(days=14), 6, 5, 4)
    osdi(pat, today - timedelta(days=21), 2)
    osdi(pat, today - timedelta(days=7), 1)
    eq5d(pat, today - timedelta(days=20), (2, 1, 3, 3, 2), 55)
    eq5d(pat, today - timedelta(days=2), (1, 1, 2, 2, 1), 75)
    page = any_browse.page
    sign_in(any_browse, pat.email)
    any_browse.goto("/diary/trends/")
    page.wait_for_function("() => document.querySelectorAll('.chart-drawn .main-svg').length >= 5")
    assert page.locator(".chart-drawn").count() == 5  # symptoms, ESSPRI, OSDI, EQ-5D, EQ VAS
    assert page.evaluate(CLIPPED_TEXT) == []
    assert page.get_by_text("Meaningful improvement").first.is_visible()
    any_browse.screenshot("trends-charts")
    any_browse.check()  # axe again, with the charts drawn

    any_browse.click_through(page.get_by_role("link", name="What goes with my bad days"))
    assert "not what causes what" in page.locator("main").inner_text()
    assert page.locator(".comparison").count() >= 8  # every diary factor, and the medicine
    any_browse.screenshot("bad-days")
