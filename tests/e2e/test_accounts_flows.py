"""Browser flows of the foundation: sign-up with email verification, sign-in, lockout, and a
clinician's TOTP enrolment followed by a sign-in with a code. Every page is checked with axe."""

from __future__ import annotations

import base64
import re

import pytest
from django.conf import settings
from django.core import mail
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role, User
from tests.e2e.flows import sign_in, sign_out, totp_code
from tests.factories import PASSWORD, ClinicianFactory, PatientFactory

pytestmark = pytest.mark.e2e


def test_sign_up_confirm_email_then_sign_in(browse):
    page = browse.page
    browse.goto("/")
    browse.click_through(page.get_by_role("link", name="Create a diary"))
    page.get_by_label("Email").fill("New.Patient@Example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    browse.submit("Create my diary")
    assert page.get_by_role("heading", level=1).inner_text() == "Check your email"

    # The live server runs in this process, so its mail lands in the locmem outbox.
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    user = User.objects.get(email="new.patient@example.org")
    assert user.role == Role.PATIENT

    # Before confirming, signing in only leads back to "check your email".
    sign_in(browse, user.email)
    assert page.get_by_role("heading", level=1).inner_text() == "Check your email"

    browse.goto(link.group(1))
    browse.submit("Confirm")
    assert browse.path.startswith("/accounts/login/")
    sign_in(browse, user.email)
    assert browse.path == "/"
    assert page.get_by_role("heading", level=1).inner_text().startswith("Hello")
    assert page.get_by_role("navigation", name="Main").is_visible()


def test_wrong_passwords_show_an_error_then_lock_the_account(browse):
    patient = PatientFactory(email="locked@example.org")
    page = browse.page
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(browse, patient.email, "not my password")
        assert "not correct" in page.get_by_role("alert").inner_text()
        assert page.get_by_label("Email").input_value() == patient.email

    # The last allowed failure locks the account, on a calm page that says what to do next.
    page.get_by_label("Password", exact=True).fill("still not my password")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        browse.submit("Sign in")
    assert answer.value.status == 429
    assert page.get_by_role("heading", level=1).inner_text() == "Too many attempts"

    # Locked: even the right password is refused now.
    browse.goto("/accounts/login/")
    page.get_by_label("Email").fill(patient.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        browse.submit("Sign in")
    assert answer.value.status == 429
    browse.goto("/")
    assert page.get_by_role("link", name="Sign in").is_visible()  # still signed out


def test_clinician_enrols_an_authenticator_then_signs_in_with_a_code(browse):
    carol = ClinicianFactory(email="carol@example.org", display_name="Dr Carol")
    page = browse.page
    sign_in(browse, carol.email)
    # Two-factor is required for clinicians: sign-in leads straight to enrolment.
    assert browse.path.startswith("/accounts/2fa/enrol/")
    browse.screenshot("enrol")
    secret = page.locator("#totp-secret").inner_text().strip()
    device = TOTPDevice.objects.get(user=carol, confirmed=False)
    assert base64.b32decode(secret + "=" * (-len(secret) % 8)) == device.bin_key
    page.get_by_label("Code from your authenticator app").fill(totp_code(secret))
    browse.submit("Confirm and continue")

    assert page.get_by_role("heading", level=1).inner_text() == "Your backup codes"
    assert page.locator(".backup-codes li").count() == 10
    browse.click_through(page.get_by_role("link", name="I have saved them: continue"))
    assert page.get_by_role("heading", level=1).inner_text() == "Welcome, Dr Carol"
    assert TOTPDevice.objects.get(user=carol).confirmed

    sign_out(browse)
    sign_in(browse, carol.email)
    assert browse.path.startswith("/accounts/2fa/verify/")
    # The enrolment code was for this 30 s step and cannot be reused; an app shows the next one.
    page.get_by_label("Code from your authenticator app").fill(totp_code(secret, steps_ahead=1))
    browse.submit("Verify")
    assert browse.path == "/"
    assert page.get_by_role("heading", level=1).inner_text() == "Welcome, Dr Carol"
