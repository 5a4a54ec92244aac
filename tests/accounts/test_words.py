"""Words a patient sees: mails carry the site's name (settings.SITE_NAME), never example.com; a
privacy notice and terms of use linked from sign-up and every page's footer; "send the
confirmation email again"; and after a password, the two-factor step comes before any
"signed in" message."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from tests.factories import PASSWORD, PatientFactory, confirmed_totp, current_totp_code

pytestmark = pytest.mark.django_db

SITE = "My Sjögren's Diary"


def _signup(client, email="new@example.org"):
    return client.post(
        "/accounts/signup/",
        {
            "email": email,
            "password1": "a long enough pass 1!",
            "password2": "a long enough pass 1!",
        },
    )


def test_signup_mail_names_the_site_and_its_sender_not_example_com(client, settings):
    settings.SITE_NAME = SITE
    _signup(client)
    (message,) = mail.outbox
    assert message.subject.startswith(f"[{SITE}] ")
    assert SITE in message.body
    assert "example.com" not in message.body + message.subject
    assert message.from_email.endswith("<diary@localhost>") and "Diary" in message.from_email


def test_site_name_comes_from_settings(client, settings):
    settings.SITE_NAME = "Clinic Diary"
    page = client.get("/accounts/login/").content.decode()
    assert "<title>Sign in · Clinic Diary</title>" in page
    _signup(client, "other@example.org")
    assert mail.outbox[0].subject.startswith("[Clinic Diary] ")


@pytest.mark.parametrize(("path", "heading"), [("/privacy/", "Privacy notice"),
                                               ("/terms/", "Terms of use")])  # fmt: skip
def test_privacy_and_terms_are_public_and_linked_from_signup_and_footer(client, path, heading):
    response = client.get(path)
    assert response.status_code == 200
    assert f"<h1>{heading}</h1>" in response.content.decode()
    signup = client.get("/accounts/signup/").content.decode()
    assert f'href="{path}"' in signup
    footer = client.get("/accounts/login/").content.decode().split('role="contentinfo"')[1]
    assert f'href="{path}"' in footer


def test_confirmation_email_is_sent_again_for_an_unconfirmed_address(client):
    _signup(client)
    mail.outbox.clear()
    response = client.post("/accounts/confirm-email/resend/", {"email": "new@example.org"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and "new@example.org" in mail.outbox[0].to
    page = client.get(response["Location"]).content.decode()
    assert "we have sent it a new link" in page


@pytest.mark.parametrize("email", ["nobody@example.org", "confirmed@example.org"])
def test_resend_answers_the_same_for_unknown_or_confirmed_addresses(client, email):
    PatientFactory(email="confirmed@example.org")  # verified address
    response = client.post("/accounts/confirm-email/resend/", {"email": email}, follow=True)
    assert "we have sent it a new link" in response.content.decode()
    assert mail.outbox == []


def test_resend_with_a_bad_address_is_a_form_error(client):
    response = client.post("/accounts/confirm-email/resend/", {"email": "not an email"})
    assert response.status_code == 400
    assert "Enter a valid email address" in response.content.decode()


def test_resend_is_linked_from_sign_in_and_the_check_your_email_page(client):
    assert (
        'href="/accounts/confirm-email/resend/"' in client.get("/accounts/login/").content.decode()
    )
    response = _signup(client, "third@example.org")
    page = client.get(response["Location"]).content.decode()
    assert 'href="/accounts/confirm-email/resend/"' in page
    assert EmailAddress.objects.filter(email="third@example.org", verified=False).exists()


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_two_factor_comes_before_the_signed_in_message(client, clinician_carol):
    device = confirmed_totp(clinician_carol)
    response = client.post(
        "/accounts/login/", {"login": clinician_carol.email, "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0].startswith("/accounts/2fa/verify/")
    assert not [m for m in _messages(response) if "signed in" in m.lower()]
    done = client.post("/accounts/2fa/verify/", {"code": current_totp_code(device)}, follow=True)
    assert f"Signed in as {clinician_carol.email}." in _messages(done)


def test_a_patient_without_two_factor_is_told_at_once(client):
    alice = PatientFactory(email="alice@example.org")
    response = client.post(
        "/accounts/login/", {"login": alice.email, "password": PASSWORD}, follow=True
    )
    assert any("signed in" in m.lower() for m in _messages(response))
