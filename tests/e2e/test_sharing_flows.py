"""Sharing in the browser (issue 4): a patient shares with a clinician, the clinician reads the
pre-appointment summary, the patient stops sharing, and the clinician's very next request is
refused. Both people use their own browser context; every page is checked with axe."""

from __future__ import annotations

from base64 import b32encode
from datetime import timedelta

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from consent import services as consent_services
from diary import selectors as diary_selectors
from diary import services as diary_services
from tests.e2e.flows import sign_in, totp_code
from tests.factories import ClinicianFactory, PatientFactory, StaffFactory, confirmed_totp

pytestmark = pytest.mark.e2e


def _verified_clinician_with_authenticator():
    carol = ClinicianFactory(email="carol@example.org", display_name="Dr Carol")
    consent_services.clinician_verify(clinician=carol, by=StaffFactory())
    device = confirmed_totp(carol)
    return carol, device


def _sign_in_with_code(browse, user, device: TOTPDevice) -> None:
    sign_in(browse, user.email)
    assert browse.path.startswith("/accounts/2fa/verify/")
    secret = b32encode(device.bin_key).decode().rstrip("=")
    browse.page.get_by_label("Code from your authenticator app").fill(totp_code(secret))
    browse.submit("Verify")


def test_patient_shares_clinician_reads_summary_patient_revokes_clinician_refused(open_browse):
    alice = PatientFactory(email="alice@example.org", display_name="Alice")
    today = diary_selectors.patient_today(alice)
    for days_ago in range(3):
        diary_services.entry_save(
            patient=alice,
            entry_date=today - timedelta(days=days_ago),
            values={
                "dryness_eyes": 6 + days_ago,
                "dryness_mouth": 5,
                "dryness_skin": 3,
                "fatigue": 7,
                "muscle_pain": 2,
                "joint_pain": 4,
                "flare": days_ago == 1,
                "factors": [],
                "note": "",
            },
        )
    carol, device = _verified_clinician_with_authenticator()
    patient, clinician = open_browse(), open_browse()

    # The patient shares from "Sharing & consent".
    sign_in(patient, alice.email)
    nav = patient.page.get_by_role("navigation", name="Main")
    patient.click_through(nav.get_by_role("link", name="Sharing & consent"))
    patient.click_through(patient.page.get_by_role("link", name="Share with a clinician"))
    patient.page.get_by_label("Your clinician's email address").fill(carol.email)
    patient.submit("Share")
    assert "You are now sharing with Dr Carol" in patient.page.get_by_role("status").inner_text()

    # The clinician finds the patient and opens the summary.
    _sign_in_with_code(clinician, carol, device)
    clinician.click_through(
        clinician.page.get_by_role("navigation", name="Main").get_by_role(
            "link", name="My patients"
        )
    )
    clinician.click_through(clinician.page.get_by_role("link", name="Summary for Alice"))
    summary_path = clinician.path
    clinician.screenshot("clinician-summary")
    assert clinician.page.get_by_text("3 diary entries").is_visible()
    assert clinician.page.get_by_text("1 day with a flare").is_visible()
    assert summary_path.startswith("/clinic/patients/")
    assert clinician.page.get_by_role("heading", level=1).inner_text().count("Alice") == 1

    # The patient stops sharing ...
    patient.submit(button=patient.page.get_by_role("button", name="Stop sharing with Dr Carol"))
    assert "Sharing stopped" in patient.page.get_by_role("status").inner_text()

    # ... and the clinician's next request is refused, and the list no longer shows her.
    clinician.goto(summary_path, expect_status=404)
    clinician.goto("/clinic/patients/")
    assert clinician.page.get_by_role("link", name="Alice").count() == 0

    # The patient sees the visit (list and summary: one line) and the refused attempt.
    patient.click_through(patient.page.get_by_role("link", name="Who has viewed my data"))
    lines = patient.page.get_by_role("listitem").filter(has_text="Dr Carol")
    visit = lines.filter(has_text="looked at your name in their patient list and your pre")
    assert visit.count() == 1
    assert lines.filter(has_text="Refused").filter(has_text="pre-appointment summary").count() == 1


def test_clinician_asks_for_access_and_patient_accepts_from_the_dashboard(open_browse):
    alice = PatientFactory(email="alice@example.org", display_name="Alice")
    carol, device = _verified_clinician_with_authenticator()
    clinician, patient = open_browse(), open_browse()

    _sign_in_with_code(clinician, carol, device)
    clinician.goto("/clinic/patients/")
    clinician.click_through(clinician.page.get_by_role("link", name="Ask a patient for access"))
    clinician.page.get_by_label("Patient's email address").fill(alice.email)
    clinician.submit("Send the request")
    assert "they will see your request" in clinician.page.get_by_role("status").inner_text()

    # The patient's dashboard says a clinician is waiting; she shares the diary only.
    sign_in(patient, alice.email)
    notice = patient.page.get_by_role("region", name="Sharing and consent")
    assert "1 clinician asked to see your diary" in notice.inner_text()
    patient.click_through(notice.get_by_role("link", name="Answer the request"))
    patient.page.get_by_label("Medicines").uncheck()
    patient.page.get_by_label("Questionnaires").uncheck()
    patient.submit("Accept")
    assert "Request accepted" in patient.page.get_by_role("status").inner_text()

    clinician.goto("/clinic/patients/")
    clinician.click_through(clinician.page.get_by_role("link", name="Summary for Alice"))
    assert clinician.page.get_by_text("does not share their medicines").is_visible()
