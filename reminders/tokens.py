"""Signed, timestamped tokens in reminder links (django.core.signing with its own salts).

A token names a patient by public id (a UUID, issue 16: a signed token is readable, so it must
not carry the integer key) and nothing else about them; links carry no health data. Tokens
signed before the change carry the integer key and keep working until they expire."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core import signing

from accounts.selectors import user_pk

OPEN_SALT = "reminders.open"
UNSUBSCRIBE_SALT = "reminders.unsubscribe"
# An unsubscribe link keeps working long after the message (RFC 8058 asks for it to work
# from the message as delivered; mail is often read weeks later).
UNSUBSCRIBE_MAX_AGE = timedelta(days=90)
OPEN_TARGETS = ("day", "questionnaires")
CHANNELS = ("email", "push")


class BadToken(Exception):
    """Tampered with, cut short, or too old; `expired` tells which (for the message)."""

    def __init__(self, *, expired: bool) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


@dataclass(frozen=True)
class OpenLink:
    patient_id: int
    day: date
    target: str


@dataclass(frozen=True)
class Unsubscribe:
    patient_id: int
    channel: str
    generation: int


def open_token(*, patient: uuid.UUID, day: date, target: str = "day") -> str:
    """`patient`: the patient's public id."""
    return signing.dumps([str(patient), day.isoformat(), target], salt=OPEN_SALT)


def unsubscribe_token(*, patient: uuid.UUID, channel: str, generation: int) -> str:
    """`patient`: the patient's public id."""
    return signing.dumps([str(patient), channel, generation], salt=UNSUBSCRIBE_SALT)


def _patient_pk(value) -> int:
    """The internal key of the patient a token names: a public id, or (tokens signed before
    issue 16) the key itself. Raises ValueError for anything else or an unknown id."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    pk = user_pk(public_id=uuid.UUID(str(value)))
    if pk is None:
        raise ValueError("no such patient")
    return pk


def _loads(token: str, *, salt: str, max_age: timedelta):
    try:
        return signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise BadToken(expired=True) from exc
    except signing.BadSignature as exc:
        raise BadToken(expired=False) from exc


def read_open_token(token: str) -> OpenLink:
    value = _loads(
        token, salt=OPEN_SALT, max_age=timedelta(days=settings.REMINDERS_LINK_MAX_AGE_DAYS)
    )
    try:
        patient_id, day, target = value
        link = OpenLink(_patient_pk(patient_id), date.fromisoformat(day), str(target))
    except (TypeError, ValueError) as exc:
        raise BadToken(expired=False) from exc
    if link.target not in OPEN_TARGETS:
        raise BadToken(expired=False)
    return link


def read_unsubscribe_token(token: str) -> Unsubscribe:
    value = _loads(token, salt=UNSUBSCRIBE_SALT, max_age=UNSUBSCRIBE_MAX_AGE)
    try:
        patient_id, channel, generation = value
        found = Unsubscribe(_patient_pk(patient_id), str(channel), int(generation))
    except (TypeError, ValueError) as exc:
        raise BadToken(expired=False) from exc
    if found.channel not in CHANNELS:
        raise BadToken(expired=False)
    return found
