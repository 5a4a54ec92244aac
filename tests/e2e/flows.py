"""Steps shared by the browser flows: signing in and out, and reading a TOTP code."""

from __future__ import annotations

import base64

from django_otp.oath import TOTP

from tests.factories import PASSWORD


def sign_in(browse, email: str, password: str = PASSWORD) -> None:
    browse.goto("/accounts/login/")
    browse.page.get_by_label("Email").fill(email)
    browse.page.get_by_label("Password", exact=True).fill(password)
    browse.submit("Sign in")


def sign_out(browse) -> None:
    browse.submit("Sign out")


def totp_code(secret_base32: str, *, steps_ahead: int = 0) -> str:
    """What an authenticator app would show for this key now (or `steps_ahead` steps later).

    django-otp accepts a code one step (30 s) ahead as clock drift, and refuses a code already
    used, so a second sign-in within the same step uses the next step's code.
    """
    padded = secret_base32 + "=" * (-len(secret_base32) % 8)
    totp = TOTP(base64.b32decode(padded))
    totp.time = totp.time + steps_ahead * totp.step
    return f"{totp.token():06d}"


class Taps:
    """Counts what a person does (a click, a tap, typing into one field) to reach a goal."""

    def __init__(self, browse) -> None:
        self.browse = browse
        self.count = 0

    def follow(self, locator) -> None:
        self.count += 1
        self.browse.click_through(locator)

    def choose(self, locator) -> None:
        self.count += 1
        locator.click()

    def type(self, locator, text: str) -> None:
        self.count += 1
        locator.fill(text)

    def submit(self, name: str) -> None:
        self.count += 1
        self.browse.submit(name)


def sign_in_verified(browse, user, password: str = PASSWORD) -> None:
    """Sign in; for a role that needs two-factor, verify with a fresh authenticator device."""
    from tests.factories import confirmed_totp

    sign_in(browse, user.email, password)
    if browse.path.startswith("/accounts/2fa/"):
        device = confirmed_totp(user)
        secret = base64.b32encode(device.bin_key).decode().rstrip("=")
        browse.goto("/accounts/2fa/verify/")
        browse.page.get_by_label("Code from your authenticator app").fill(totp_code(secret))
        browse.submit("Verify")
    assert not browse.path.startswith("/accounts/"), browse.path
