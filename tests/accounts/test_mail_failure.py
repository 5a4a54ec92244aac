"""Password reset (and sign-up) through a real SMTP server: sent when it answers; when it does
not, a calm message, a log line without the address, nothing stored, and a retry that works."""

from __future__ import annotations

import logging
import re
import socket
from contextlib import closing

import pytest
from aiosmtpd.controller import Controller

from accounts.adapter import MAIL_UNAVAILABLE_MESSAGE
from accounts.models import User
from tests.factories import PASSWORD

# This helper's port range (8130-8139): one for the server, the next free one for "nobody".
PORTS = range(8130, 8140)


def _free_port(skip: int | None = None) -> int:
    for port in PORTS:
        if port == skip:
            continue
        with closing(socket.socket()) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip("no free port in 8130-8139")


class Inbox:
    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


def _use_smtp(settings, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5


def _reset(client, email: str):
    return client.post("/accounts/password/reset/", {"email": email})


@pytest.mark.django_db
def test_reset_email_goes_through_a_real_smtp_server(client, settings, smtp_server, patient_alice):
    port, inbox = smtp_server
    _use_smtp(settings, port)
    response = _reset(client, patient_alice.email)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/done/"
    assert len(inbox.messages) == 1
    assert inbox.messages[0].rcpt_tos == [patient_alice.email]
    body = inbox.messages[0].content.decode()
    assert re.search(r"/accounts/password/reset/key/\S+", body)


@pytest.mark.django_db
def test_reset_with_no_mail_server_is_a_calm_message_and_can_be_retried(
    client, settings, smtp_server, patient_alice, caplog
):
    port, inbox = smtp_server
    dead_port = _free_port(skip=port)
    _use_smtp(settings, dead_port)
    password_before = User.objects.get(pk=patient_alice.pk).password
    with caplog.at_level(logging.ERROR, logger="accounts.adapter"):
        response = _reset(client, patient_alice.email)
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    page = response.content.decode()
    assert "could not send the email just now" in page
    assert "try again in a few minutes" in page
    assert "Traceback" not in page
    # Logged, without the address.
    lines = [r.getMessage() for r in caplog.records if r.name == "accounts.adapter"]
    assert any("mail not sent" in line and "ConnectionRefusedError" in line for line in lines)
    assert all(patient_alice.email not in line for line in lines)
    assert User.objects.get(pk=patient_alice.pk).password == password_before
    # The mail server is back: the same request now sends the link.
    _use_smtp(settings, port)
    retry = _reset(client, patient_alice.email)
    assert retry.status_code == 302
    assert len(inbox.messages) == 1


@pytest.mark.django_db
def test_reset_for_an_unknown_address_fails_the_same_way(client, settings, smtp_server):
    """With enumeration prevention, an unknown address also gets a mail: a dead server must
    not tell the two apart either."""
    port, _ = smtp_server
    _use_smtp(settings, _free_port(skip=port))
    response = _reset(client, "nobody@example.org")
    assert response.status_code == 503
    assert MAIL_UNAVAILABLE_MESSAGE.split(":")[0] in response.content.decode()


@pytest.mark.django_db
def test_sign_up_with_no_mail_server_keeps_the_account_and_says_so(client, settings, smtp_server):
    port, _ = smtp_server
    _use_smtp(settings, _free_port(skip=port))
    response = client.post(
        "/accounts/signup/",
        {"email": "new@example.org", "password1": PASSWORD, "password2": PASSWORD},
        follow=True,
    )
    assert response.status_code == 200
    assert "could not send the email just now" in response.content.decode()
    assert User.objects.filter(email="new@example.org").exists()


def test_mail_has_a_timeout(settings):
    assert 0 < settings.EMAIL_TIMEOUT <= 30
