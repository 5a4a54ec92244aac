"""The clinician's day in the browser: the patient list (search, flags) -> one patient's
timeline -> the pre-appointment summary -> its PDF, at desktop width and on a phone. axe runs
on every page; the PDF is read back with pypdf."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from pypdf import PdfReader

from consent import services as consent_services
from diary import services as diary
from tests.e2e.conftest import PHONE
from tests.e2e.flows import sign_in_verified
from tests.factories import ClinicianFactory, PatientFactory, StaffFactory
from tests.imaging.conftest import grant

pytestmark = pytest.mark.e2e

SYMPTOMS = ("dryness_eyes", "dryness_mouth", "dryness_skin", "fatigue", "muscle_pain", "joint_pain")


def _history(patient) -> None:
    rng = random.Random(7)
    today = timezone.localdate()
    for n in range(1, 40):
        if rng.random() < 0.8:
            diary.entry_save(
                patient=patient,
                entry_date=today - timedelta(days=n),
                values={
                    **{s: rng.randint(2, 7) for s in SYMPTOMS},
                    "flare": n == 2,
                    "factors": [],
                    "note": "",
                },
            )
    for days_ago, score in ((30, 4.0), (3, 6.0)):  # +2: a meaningful worsening
        end = today - timedelta(days=days_ago)
        diary.questionnaire_response_save(
            patient=patient,
            instrument="esspri",
            answers={"dryness": 6, "fatigue": 6, "pain": 6},
            score=score,
            period_start=end - timedelta(days=13),
            period_end=end,
        )
    diary.medicine_add(
        patient=patient,
        name="Hydroxychloroquine",
        dose="200",
        unit="mg",
        schedule="twice_daily",
        start_date=today - timedelta(days=20),
    )


@pytest.fixture
def carol():
    alice = PatientFactory(
        email="alice@example.org",
        display_name="Alice Atkins",
        date_joined=timezone.now() - timedelta(days=60),
    )
    bob = PatientFactory(email="bob@example.org", display_name="Bob Brown")
    carol = ClinicianFactory(email="carol@example.org", display_name="Dr Carol")
    consent_services.clinician_verify(clinician=carol, by=StaffFactory())
    grant(alice, carol, ("diary", "medicines", "questionnaires", "imaging"))
    grant(bob, carol, ("diary",))
    _history(alice)
    return carol


def test_clinician_goes_from_the_list_to_the_timeline_summary_and_pdf(open_browse, carol, tmp_path):
    browse = open_browse()
    sign_in_verified(browse, carol)
    page = browse.page
    browse.click_through(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="My patients")
    )
    assert browse.path.startswith("/clinic/patients/")
    table = page.get_by_role("region", name="Patients sharing with you")
    assert "ESSPRI worse by more than the minimal important change" in table.inner_text()
    assert "Flare this week" in table.inner_text()

    # Search by name narrows the list.
    page.get_by_label("Search by name or e-mail").fill("atk")
    page.get_by_label("Sort by").select_option("esspri_change")
    browse.submit("Show")
    assert page.get_by_role("link", name="Bob Brown").count() == 0
    browse.screenshot("clinic-list")

    # A reversed period: the message beside the field, a 400, no crash.
    page.get_by_label("From").fill("2026-03-10")
    page.get_by_label("To").fill("2026-03-01")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Show", exact=True).click()
    assert nav.value.status == 400
    browse.check()
    alerts = page.get_by_role("alert").all_inner_texts()
    assert any("The period is reversed" in text for text in alerts), alerts

    # The timeline: every kind of event on one axis, newest day first.
    browse.click_through(page.get_by_role("link", name="Alice Atkins", exact=True))
    assert page.get_by_role("heading", level=1).inner_text() == "Timeline: Alice Atkins"
    events = page.get_by_role("list", name="Events by day, newest first")
    text = events.inner_text()
    assert "Flare recorded" in text and "Started Hydroxychloroquine" in text and "ESSPRI" in text
    browse.screenshot("clinic-timeline")

    # The summary, from the patient header, then its PDF.
    header = page.get_by_role("navigation", name="Pages about Alice Atkins")
    browse.click_through(header.get_by_role("link", name="Pre-appointment summary"))
    assert page.get_by_role("heading", level=1).inner_text().endswith("Alice Atkins")
    browse.screenshot("clinic-summary")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF of this summary").click()
    target = Path(tmp_path) / "summary.pdf"
    download.value.save_as(target)
    text = "\n".join(p.extract_text() for p in PdfReader(target).pages)
    assert "Pre-appointment summary: Alice Atkins" in text
    assert "Hydroxychloroquine" in text

    # The same journey fits a phone: list and timeline at 360 px (no sideways scroll, axe).
    phone = open_browse(PHONE)
    sign_in_verified(phone, carol)
    phone.goto("/clinic/patients/")
    phone.click_through(phone.page.get_by_role("link", name="Alice Atkins", exact=True))
    phone.screenshot("clinic-timeline")
