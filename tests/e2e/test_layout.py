"""The foundation's pages at desktop width, on a 360 px phone and at 200% zoom: axe-clean, and on
the narrow viewports nothing scrolls sideways (WCAG 1.4.10 Reflow). Screenshots of the key pages
are written when E2E_SCREENSHOTS names a folder, for a person to look at.

One test per viewport walks every role's pages, so the database is flushed once per viewport."""

from __future__ import annotations

import pytest

from tests.e2e.flows import sign_in, sign_out
from tests.factories import ClinicianFactory, PatientFactory, confirmed_totp

pytestmark = pytest.mark.e2e


def test_every_foundation_page_is_accessible_and_reflows(any_browse):
    _public_pages(any_browse)
    _patient_pages(any_browse)
    _clinician_two_factor_pages(any_browse)


def _public_pages(browse):
    page = browse.page
    browse.goto("/")
    browse.goto("/accounts/login/")
    browse.screenshot("login")
    browse.submit("Sign in")  # empty: every field's error is shown and linked from the summary
    assert page.get_by_role("alert").get_by_role("link").count() == 2
    browse.screenshot("login-errors")
    browse.goto("/accounts/signup/")
    browse.screenshot("signup")
    page.get_by_label("Email").fill("someone@example.org")
    browse.submit("Create my diary")  # no passwords: errors beside the fields
    browse.goto("/accounts/password/reset/")
    page.get_by_label("Email").fill("someone@example.org")
    browse.submit("Send me a reset link")
    assert page.get_by_role("heading", level=1).inner_text() == "Check your email"
    browse.goto("/no-such-page/", expect_status=404)


def _patient_pages(browse):
    patient = PatientFactory(email="alice@example.org", display_name="Alice")
    sign_in(browse, patient.email)
    browse.screenshot("patient-home")
    browse.goto("/accounts/settings/")
    browse.goto("/accounts/password/change/")
    browse.goto("/accounts/2fa/enrol/")  # patients may opt in to two-factor
    sign_out(browse)


def _clinician_two_factor_pages(browse):
    carol = ClinicianFactory(email="carol@example.org")
    sign_in(browse, carol.email)
    assert browse.path.startswith("/accounts/2fa/enrol/")
    browse.screenshot("enrol")
    sign_out(browse)
    dave = ClinicianFactory(email="dave@example.org")
    confirmed_totp(dave)
    sign_in(browse, dave.email)
    assert browse.path.startswith("/accounts/2fa/verify/")
    browse.screenshot("verify")
