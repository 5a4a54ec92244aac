"""Real parts for reminder tests: an aiosmtpd SMTP server that receives the mail, and a local
HTTP server playing the Web Push service (ports 8150-8159 of this area)."""

from __future__ import annotations

import base64
import email
import email.policy
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from reminders.models import ReminderSettings

SMTP_PORT = int(os.environ.get("REMINDERS_TEST_SMTP_PORT", "8150"))
PUSH_PORT = int(os.environ.get("REMINDERS_TEST_PUSH_PORT", "8151"))


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class _Collect:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.envelopes.append(envelope)
            self.messages.append(parsed)
        return "250 OK"


@dataclass
class SmtpSink:
    handler: _Collect
    port: int

    @property
    def messages(self):
        with self.handler.lock:
            return list(self.handler.messages)


def start_smtp_sink(port: int) -> tuple[Controller, SmtpSink]:
    handler = _Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, SmtpSink(handler, port)


@pytest.fixture
def smtp_sink(settings):
    """Mail goes over real SMTP to a local aiosmtpd server."""
    controller, sink = start_smtp_sink(SMTP_PORT)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = SMTP_PORT
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield sink
    finally:
        controller.stop()


@dataclass
class PushService:
    base: str
    received: list = field(default_factory=list)
    status_for: dict = field(default_factory=dict)  # path -> HTTP status to answer

    def endpoint(self, name: str) -> str:
        return f"{self.base}/push/{name}"


@pytest.fixture
def push_service():
    """A local HTTP server standing in for the browser vendor's push service (RFC 8030)."""
    service = PushService(base=f"http://127.0.0.1:{PUSH_PORT}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            service.received.append((self.path, self.headers, body))
            status = service.status_for.get(self.path, 201)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", PUSH_PORT), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class BrowserKeys:
    """What a browser holds for one subscription: its ECDH key pair and auth secret."""

    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @property
    def p256dh(self) -> str:
        point = self.private_key.public_key().public_bytes(
            Encoding.X962, PublicFormat.UncompressedPoint
        )
        return b64url(point)

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)


def new_browser_keys() -> BrowserKeys:
    return BrowserKeys(ec.generate_private_key(ec.SECP256R1()), os.urandom(16))


def enable_reminders(patient, **overrides) -> ReminderSettings:
    values = {
        "enabled": True,
        "remind_at": time(19, 0),
        "days": 0b1111111,
        "email": True,
        "push": False,
    }
    values.update(overrides)
    row, _ = ReminderSettings.objects.update_or_create(patient=patient, defaults=values)
    return row


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)
