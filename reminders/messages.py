"""What a reminder says. Never any health data: only that it is time for the diary (and that a
questionnaire is waiting), a signed link that opens the day, and one-click unsubscribe."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from email.header import Header
from email.utils import formatdate, make_msgid
from functools import cache

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.message import sanitize_address
from django.core.mail.utils import DNS_NAME
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from reminders import tokens
from reminders.selectors import Due

DIARY_LINE = gettext_noop("It's time for today's diary.")
QUESTIONNAIRE_LINE = gettext_noop("A short questionnaire is waiting in your diary.")


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


def in_language_of(due: Due):
    """The patient's own language for what a reminder says (a worker has no request to take it
    from); the site's default when they have not chosen one. Most reminders go out in the
    language already active, so no switch is made for them (a switch costs about a tenth of
    rendering a message; bench/bench_reminders.py)."""
    wanted = due.language or settings.LANGUAGE_CODE
    if translation.get_language() == wanted:
        return nullcontext()
    return translation.override(wanted)


def lines_for(*, diary: bool, questionnaire: bool) -> list[str]:
    lines = ((diary, DIARY_LINE), (questionnaire, QUESTIONNAIRE_LINE))
    return [_(line) for on, line in lines if on]


def _subject(*, diary: bool) -> str:
    subject = (
        _("Time for today's diary") if diary else _("A questionnaire is waiting in your diary")
    )
    return f"{subject} - {settings.SITE_NAME}"


def _body(*, diary: bool, questionnaire: bool, links: Links) -> str:
    names = {"site": settings.SITE_NAME, "settings": f"{settings.SITE_URL}/reminders/"}
    return "\n".join(
        [
            _("Hello,"),
            "",
            *lines_for(diary=diary, questionnaire=questionnaire),
            "",
            _("Open your diary: %(url)s") % {"url": links.open_url},
            "",
            _("You asked %(site)s to remind you. To stop these emails, open") % names,
            f"{links.unsubscribe_url}",
            _("or change your reminders in your settings: %(settings)s") % names,
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
    with in_language_of(due):
        subject = _subject(diary=diary)
        body = _body(diary=diary, questionnaire=questionnaire, links=links)
    return EmailMessage(
        subject=subject,
        body=body,
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
    with in_language_of(due):
        subject = _subject(diary=diary)
        body = _body(diary=diary, questionnaire=questionnaire, links=links)
    raw = (
        _fixed_headers(subject, settings.DEFAULT_FROM_EMAIL)
        + variable
        + body.replace("\n", "\r\n").encode()
    )
    return PrerenderedEmail(raw=raw, to=due.email_address, envelope_to=to)


def reminder_push_payload(due: Due, *, diary: bool, questionnaire: bool) -> dict:
    """The JSON the service worker shows as a notification (encrypted on the way, RFC 8291)."""
    links = links_for(due, channel="push", diary=diary)
    with in_language_of(due):
        body = " ".join(lines_for(diary=diary, questionnaire=questionnaire))
    return {
        "title": settings.SITE_NAME,
        "body": body,
        "url": links.open_url,
        "unsubscribe": links.unsubscribe_url,
        "tag": "diary-reminder",
    }
