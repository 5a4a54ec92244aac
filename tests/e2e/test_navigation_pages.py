"""Every page in each role's main navigation, opened the way a person would (by its link), on a
desktop and on a 360 px phone: 0 axe violations and no sideways scrolling. A page added to
accounts/navigation.py is covered here without a new test."""

from __future__ import annotations

from datetime import timedelta

import pytest

from consent import services as consent_services
from diary import selectors as diary_selectors
from diary import services as diary_services
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.flows import sign_in_verified
from tests.factories import (
    ClinicianFactory,
    PatientFactory,
    ResearcherFactory,
    StaffFactory,
)

pytestmark = pytest.mark.e2e

DAY = {
    "dryness_mouth": 5,
    "dryness_skin": 3,
    "fatigue": 7,
    "muscle_pain": 2,
    "joint_pain": 4,
    "factors": ["screen_work"],
    "note": "",
}


def _patient_with_a_fortnight():
    alice = PatientFactory(email="alice@example.org", display_name="Alice")
    today = diary_selectors.patient_today(alice)
    for days_ago in range(14):
        diary_services.entry_save(
            patient=alice,
            entry_date=today - timedelta(days=days_ago),
            values={**DAY, "dryness_eyes": days_ago % 11, "flare": days_ago == 3},
        )
    return alice


def _walk_main_navigation(browse) -> list[str]:
    nav = browse.page.get_by_role("navigation", name="Main")
    labels = [a.inner_text().strip() for a in nav.get_by_role("link").all()]
    assert labels, "no main navigation"
    start = browse.path
    for label in labels:
        link = browse.page.get_by_role("navigation", name="Main").get_by_role(
            "link", name=label, exact=True
        )
        if link.get_attribute("href").startswith("/admin/"):
            continue  # Django's own admin, with its own layout and no main navigation of ours
        browse.click_through(link)
        browse.goto(start)
    return labels


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop-1280", "phone-360"])
def test_every_navigation_page_of_every_role(open_browse, viewport):
    alice = _patient_with_a_fortnight()
    carol = ClinicianFactory(email="carol@example.org", display_name="Dr Carol")
    staff = StaffFactory(email="sam@example.org")
    consent_services.clinician_verify(clinician=carol, by=staff)
    consent_services.grant_create(
        patient=alice,
        clinician_email=carol.email,
        scopes=["diary", "medicines", "questionnaires"],
        ends_on=None,
        invitation_url_builder=lambda token: f"/consent/invitations/{token}/",
    )
    people = {
        "patient": alice,
        "clinician": carol,
        "researcher": ResearcherFactory(email="rita@example.org"),
        "staff": staff,
    }
    walked = {}
    for role, user in people.items():
        browse = open_browse(viewport)
        sign_in_verified(browse, user)
        walked[role] = _walk_main_navigation(browse)
    assert "Sharing & consent" in walked["patient"]
    assert "My patients" in walked["clinician"]
