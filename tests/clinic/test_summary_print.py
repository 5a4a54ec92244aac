"""The pre-appointment summary prints on two A4 pages (Chromium's print-to-PDF).

A browser test (marker e2e): skipped where Chromium is missing, as in tests/e2e.
"""

from __future__ import annotations

import os
import random
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from diary import services as diary
from tests.consent.conftest import make_grant, verify_clinician
from tests.factories import ClinicianFactory, PatientFactory, confirmed_totp

pytestmark = pytest.mark.e2e

# As in tests/e2e/conftest.py (not imported: importing it would lift Django's async guard for
# the whole session).
CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

SYMPTOMS = ("dryness_eyes", "dryness_mouth", "dryness_skin", "fatigue", "muscle_pain", "joint_pain")


def _ninety_days_of_diary(patient) -> None:
    rng = random.Random(4)
    today = timezone.localdate()
    for n in range(1, 91):
        if rng.random() < 0.85:
            values = {s: rng.randint(2, 8) for s in SYMPTOMS}
            diary.entry_save(
                patient=patient,
                entry_date=today - timedelta(days=n),
                values={**values, "flare": rng.random() < 0.1, "factors": [], "note": ""},
            )
    for k, score in enumerate([5.3, 4.7, 6.0, 5.0, 6.3, 4.0]):  # fortnightly ESSPRI
        end = today - timedelta(days=1 + 14 * k)
        diary.questionnaire_response_save(
            patient=patient,
            instrument="esspri",
            answers={"dryness": 5, "fatigue": 5, "pain": 5},
            score=score,
            period_start=end - timedelta(days=13),
            period_end=end,
        )
    for name in ("Hydroxychloroquine", "Pilocarpine", "Artificial tears"):
        med = diary.medicine_add(
            patient=patient,
            name=name,
            dose="200",
            unit="mg",
            schedule="twice_daily",
            start_date=today - timedelta(days=60),
        )
        for n in range(1, 50):
            diary.dose_log_set(
                patient=patient, medicine_id=med.id, day=today - timedelta(days=n), status="taken"
            )


def _three_scored_radiographs(patient, clinician, monkeypatch) -> int:
    """Three hand radiographs with every joint graded, as the imaging app stores them (the
    inference itself is replaced by fixed grades: scoring is the imaging app's business)."""
    imaging_services = pytest.importorskip("imaging.services")
    from imaging.joints import JOINTS
    from imaging.models import Result
    from imaging.training.synth import generate, to_png_bytes

    monkeypatch.setattr(imaging_services, "_enqueue", lambda result_id: None)
    for seed in range(3):
        _, result = imaging_services.study_upload(
            uploaded_by=clinician,
            patient=patient,
            data=to_png_bytes(generate(3_000_000 + seed).image),
        )
        Result.objects.filter(pk=result.pk).update(
            status="scored",
            confidence=0.9,
            scores={"ra_pattern": {"probability": 0.3, "needs_review": False}},
            joint_scores=[
                {"joint": j, "jsn": 1, "erosion": 0, "needs_review": False} for j in JOINTS
            ],
        )
    return len(JOINTS)


# Any two visible blocks of the printed summary (its sections, the charts, the text beside them,
# the tables, the imaging studies) that share more than a sliver of area: "nothing overlaps".
OVERLAPS_JS = """() => {
  const sel = 'article.summary > *, .summary-trends .chart, .summary-trends .trends-summary,'
    + ' .summary table, .imaging-summary-study, .summary h2';
  const boxes = [...document.querySelectorAll(sel)]
    .map(el => ({el, r: el.getBoundingClientRect()}))
    .filter(b => b.r.width > 0 && b.r.height > 0);
  const out = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
      const w = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
      const h = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
      if (w > 2 && h > 2) out.push(a.el.className + ' / ' + b.el.className + ` (${w}x${h})`);
    }
  }
  return out;
}"""


def _pdf_pages(pdf: bytes) -> int:
    """Pages of a Chromium PDF: the /Count of its page tree."""
    counts = [int(n) for n in re.findall(rb"/Count (\d+)", pdf)]
    assert counts, "no page tree in the PDF"
    return max(counts)


@pytest.mark.django_db(transaction=True)
def test_ninety_day_summary_prints_on_two_a4_pages(
    live_server, client, settings, tmp_path, monkeypatch
):
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium not found at {CHROMIUM}")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # ORM set-up beside Playwright's loop
    from django_otp import DEVICE_ID_SESSION_KEY
    from playwright.sync_api import sync_playwright

    alice = PatientFactory(email="alice@example.org", display_name="Alice Example")
    _ninety_days_of_diary(alice)
    carol = ClinicianFactory(email="carol@example.org")
    verify_clinician(carol)
    make_grant(alice, carol, ("diary", "medicines", "questionnaires", "imaging"))
    settings.MEDIA_ROOT = tmp_path / "media"
    joints = _three_scored_radiographs(alice, carol, monkeypatch)
    device = confirmed_totp(carol)
    client.force_login(carol)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.add_cookies(
                [
                    {
                        "name": "sessionid",
                        "value": client.cookies["sessionid"].value,
                        "url": live_server.url,
                    }
                ]
            )
            page = context.new_page()
            response = page.goto(f"{live_server.url}/clinic/patients/{alice.public_id}/summary/")
            assert response.status == 200
            page.wait_for_selector(".chart svg")  # plotly has drawn
            # Every section, imaging included, is on the page that is printed.
            assert page.locator(".imaging-summary-study").count() == 3
            assert page.get_by_text(f"Confirmed by a clinician: 0 of {joints} joints").count() == 3
            pdf = page.pdf(format="A4", prefer_css_page_size=True)
            page.emulate_media(media="print")
            overlaps = page.evaluate(OVERLAPS_JS)
            assert not overlaps, f"blocks overlap on paper: {overlaps}"
        finally:
            browser.close()
    assert _pdf_pages(pdf) == 2
