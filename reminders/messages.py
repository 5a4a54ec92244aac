"""What a reminder says. Never any health data: only that it is time for the diary (and that a
questionnaire is waiting), a signed link that opens the day, and one-click unsubscribe."""

from __future__ import annotations

from dataclasses import dataclass
from email.header import Header
from email.utils import formatdate, make_msgid
from functools import cache

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.message import sanitize_address
from django.core.mail.utils import DNS_NAME
from django.urls import reverse

from reminders import tokens
from reminders.selectors import Due

DIARY_LINE = "It's time for today's diary."
QUESTIONNAIRE_LINE = "A short questionnaire is waiting in your diary."


@dataclass(frozen=True)
class Links:
    open_url: str
    unsubscribe_url: str


@cache
def _path_around_token(name: str) -> tuple[str, str]:
    # Resolved once per process: reverse() for every message of a large batch costs more
    # than the rest of its rendering. Tokens are URL-safe (base64url and ":"), never escaped.
    before, _, after = reverse(name, kwargs={"token": "TOKEN"}).partition("TOKEN")
    return before, after


def _url(name: str, token: str) -> str:
    before, after = _path_around_token(name)
    return f"{settings.SITE_URL}{before}{token}{after}"


def links_for(due: Due, *, channel: str, diary: bool) -> Links:
    target = "day" if diary else "questionnaires"
    open_token = tokens.open_token(patient=due.patient_public_id, day=due.day, target=target)
    unsubscribe = tokens.unsubscribe_token(
        patient=due.patient_public_id, channel=channel, generation=due.generation
    )
    return Links(_url("reminders:open", open_token), _url("reminders:unsubscribe", unsubscribe))


def lines_for(*, diary: bool, questionnaire: bool) -> list[str]:
    return [line for on, line in ((diary, DIARY_LINE), (questionnaire, QUESTIONNAIRE_LINE)) if on]


def _subject(*, diary: bool) -> str:
    subject = "Time for today's diary" if diary else "A questionnaire is waiting in your diary"
    return f"{subject} - {settings.SITE_NAME}"


def _body(*, diary: bool, questionnaire: bool, links: Links) -> str:
    return "\n".join(
        [
            "Hello,",
            "",
            *lines_for(diary=diary, questionnaire=questionnaire),
            "",
            f"Open your diary: {links.open_url}",
            "",
            f"You asked {settings.SITE_NAME} to remind you. To stop these emails, open",
            f"{links.unsubscribe_url}",
            f"or change your reminders in your settings: {settings.SITE_URL}/reminders/",
            "",
        ]
    )


def _list_unsubscribe(links: Links) -> str:
    value = f"<{links.unsubscribe_url}>"
    if settings.REMINDERS_UNSUBSCRIBE_MAILTO:
        value += f", <mailto:{settings.REMINDERS_UNSUBSCRIBE_MAILTO}?subject=unsubscribe>"
    return value


def _headers(links: Links) -> dict[str, str]:
    return {
        # RFC 2369 and RFC 8058: one-click unsubscribe from the mail client itself.
        "List-Unsubscribe": _list_unsubscribe(links),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        # RFC 3834: no out-of-office replies to a reminder.
        "Auto-Submitted": "auto-generated",
    }


def reminder_email(due: Due, *, diary: bool, questionnaire: bool) -> EmailMessage:
    """The reminder as Django's EmailMessage (the reference rendering; see fast_reminder_email)."""
    links = links_for(due, channel="email", diary=diary)
    return EmailMessage(
        subject=_subject(diary=diary),
        body=_body(diary=diary, questionnaire=questionnaire, links=links),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[due.email_address],
        headers=_headers(links),
    )


class _RawMessage:
    """What Django's mail backends ask of EmailMessage.message(): the bytes, ready."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        return self.data if linesep == "\r\n" else self.data.replace(b"\r\n", linesep.encode())

    def get_charset(self):
        return None


class PrerenderedEmail(EmailMessage):
    """An EmailMessage whose bytes are already rendered. Sent through any Django mail backend
    (the SMTP one on one connection per batch); rendering each reminder through the email
    package would cost more than sending it (bench/bench_reminders.py)."""

    def __init__(self, *, raw: bytes, to: str, envelope_to: str) -> None:
        super().__init__(from_email=settings.DEFAULT_FROM_EMAIL, to=[to])
        self.raw = raw
        self.envelope_to = envelope_to  # the address as SMTP's RCPT TO takes it

    def message(self, *, policy=None) -> _RawMessage:  # type: ignore[override]
        return _RawMessage(self.raw)


@cache
def _fixed_headers(subject: str, from_email: str) -> bytes:
    """The header lines every reminder of one kind shares, encoded once (RFC 2047 for the
    non-ASCII site name)."""
    lines = [
        'Content-Type: text/plain; charset="utf-8"',
        "MIME-Version: 1.0",
        "Content-Transfer-Encoding: 8bit",
        f"Subject: {Header(subject, 'utf-8').encode()}",
        f"From: {sanitize_address(from_email, 'utf-8')}",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        "Auto-Submitted: auto-generated",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def fast_reminder_email(due: Due, *, diary: bool, questionnaire: bool) -> PrerenderedEmail:
    """The same message as reminder_email, rendered straight to bytes (tests compare them)."""
    links = links_for(due, channel="email", diary=diary)
    to = due.email_address
    if not to.isascii() or "\n" in to or "\r" in to:
        to = sanitize_address(to, "utf-8")  # punycode, RFC 2047; refuses line breaks
    variable = (
        f"To: {to}\r\n"
        f"Date: {formatdate()}\r\n"
        f"Message-ID: {make_msgid(domain=DNS_NAME)}\r\n"
        f"List-Unsubscribe: {_list_unsubscribe(links)}\r\n\r\n"
    ).encode()
    body = _body(diary=diary, questionnaire=questionnaire, links=links)
    raw = (
        _fixed_headers(_subject(diary=diary), settings.DEFAULT_FROM_EMAIL)
        + variable
        + body.replace("\n", "\r\n").encode()
    )
    return PrerenderedEmail(raw=raw, to=due.email_address, envelope_to=to)


def reminder_push_payload(due: Due, *, diary: bool, questionnaire: bool) -> dict:
    """The JSON the service worker shows as a notification (encrypted on the way, RFC 8291)."""
    links = links_for(due, channel="push", diary=diary)
    return {
        "title": settings.SITE_NAME,
        "body": " ".join(lines_for(diary=diary, questionnaire=questionnaire)),
        "url": links.open_url,
        "unsubscribe": links.unsubscribe_url,
        "tag": "diary-reminder",
    }
