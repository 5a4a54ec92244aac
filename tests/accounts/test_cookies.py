"""No cookie carries personal data: flash messages live in the session (server side)."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from tests.factories import PASSWORD, PatientFactory


def _cookie_text(client) -> str:
    return " ".join(f"{m.key}={unquote(m.value)}" for m in client.cookies.values())


@pytest.mark.django_db
def test_no_cookie_carries_the_email_after_signing_in_and_saving(client, settings):
    assert settings.MESSAGE_STORAGE.endswith("SessionStorage")
    patient = PatientFactory(email="private.person@example.org", display_name="Priscilla")
    response = client.post("/accounts/login/", {"login": patient.email, "password": PASSWORD})
    assert response.status_code == 302
    # The sign-in message ("Successfully signed in as ...") is waiting in the session...
    cookies = _cookie_text(client)
    assert "messages" not in client.cookies
    for secret in ("private.person", "example.org", "Priscilla"):
        assert secret not in cookies
    # ...and shows on the next page, as before.
    page = client.get("/", follow=True)
    assert "private.person@example.org" in page.content.decode()
    saved = client.post(
        "/accounts/settings/profile/",
        {"display_name": "Priscilla P", "time_zone": "Europe/London"},
        follow=True,
    )
    assert "Your details are saved" in saved.content.decode()
    cookies = _cookie_text(client)
    assert "messages" not in client.cookies
    assert "Priscilla" not in cookies and "private.person" not in cookies
    assert set(client.cookies) <= {settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME}
