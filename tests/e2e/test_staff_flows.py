"""The staff journey on the pages we own: add a clinician, then verify them after the register
check. axe-core runs on every page (0 violations), on a desktop and on a 360 px phone.

Django's admin is not walked here: its markup is Django's own (see the note in
tests/accounts/test_staff_admin.py, which checks every admin page staff can open)."""

from __future__ import annotations

import pytest
from django.core import mail

from accounts.models import User
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.flows import sign_in_verified
from tests.factories import StaffFactory

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop-1280", "phone-360"])
def test_staff_add_a_clinician_and_verify_them(open_browse, viewport):
    staff = StaffFactory(email="sam@example.org", display_name="Sam")
    browse = open_browse(viewport)
    sign_in_verified(browse, staff)
    page = browse.page

    nav = page.get_by_role("navigation", name="Main")
    browse.click_through(nav.get_by_role("link", name="Clinicians", exact=True))
    browse.click_through(page.get_by_role("link", name="Add a clinician"))

    # A mistake first: the form says what is wrong and keeps what was typed.
    page.get_by_label("Email address").fill("dr.new@example")
    page.get_by_label("Name as patients will see it").fill("Dr New")
    page.get_by_label("Professional register").fill("GMC")
    page.get_by_label("Registration number").fill("7654321")
    browse.submit("Create the account")
    assert page.get_by_text("Enter a valid email address").is_visible()
    assert page.get_by_label("Name as patients will see it").input_value() == "Dr New"
    page.get_by_label("Email address").fill("dr.new@example.org")
    browse.submit("Create the account")
    browse.screenshot("staff-clinician-created")
    assert page.get_by_text("Created dr.new@example.org").is_visible()
    assert [m.to for m in mail.outbox] == [["dr.new@example.org"]]

    # Verifying needs the deliberate tick.
    verify = page.get_by_role("button", name="Verify dr.new@example.org")
    browse.submit(button=verify)
    assert page.get_by_text("Tick the box once you have checked").is_visible()
    page.get_by_label("I have checked Dr New's register entry").check()
    browse.submit(button=page.get_by_role("button", name="Verify dr.new@example.org"))
    browse.screenshot("staff-clinician-verified")
    assert page.get_by_text("Verified dr.new@example.org").is_visible()
    clinician = User.objects.get(email="dr.new@example.org")
    assert clinician.clinician_profile.is_verified
    assert clinician.clinician_profile.verified_by == staff
