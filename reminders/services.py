"""Writes for reminders: settings, push subscriptions, unsubscribe, and the dispatch itself."""

from __future__ import annotations

import enum
import logging
import smtplib
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address
from django.db import connection, transaction
from django.utils import timezone

from accounts import services as account_services
from reminders import messages, push, tokens
from reminders.models import (
    DAY_NAMES,
    PushSubscription,
    ReminderSend,
    ReminderSettings,
    SendKind,
    SendStatus,
)
from reminders.selectors import Due, due_batches

logger = logging.getLogger(__name__)
_UNCHANGED = object()


# --- Settings -------------------------------------------------------------------------------
def days_mask(names: list[str]) -> int:
    unknown = [n for n in names if n not in DAY_NAMES]
    if unknown:
        raise ValidationError({"days": [f"Unknown day {unknown[0]!r}: use mon, tue, ... sun."]})
    return sum(1 << DAY_NAMES.index(n) for n in set(names))


@transaction.atomic
def reminder_settings_save(
    *,
    patient,
    enabled: bool,
    remind_at: time,
    days: list[str],
    email: bool,
    push: bool,
    quiet_start: time | None = None,
    quiet_end: time | None = None,
    time_zone=_UNCHANGED,
) -> ReminderSettings:
    """Store a patient's reminder settings (and their time zone, which lives in their profile).
    Raises ValidationError by field and stores nothing when any value is wrong."""
    if not patient.is_patient:
        raise PermissionError("Only patients have diary reminders.")
    problems: dict[str, list[str]] = {}
    try:
        mask = days_mask(days)
    except ValidationError as exc:
        problems.update(exc.message_dict)
        mask = 0
    if enabled and not mask:
        problems.setdefault("days", []).append("Choose at least one day.")
    if enabled and not (email or push):
        problems.setdefault("channels", []).append("Choose email, push or both.")
    if (quiet_start is None) != (quiet_end is None):
        problems.setdefault("quiet_end", []).append("Give both ends of the quiet hours, or none.")
    if problems:
        raise ValidationError(problems)
    if time_zone is not _UNCHANGED:
        account_services.profile_update(user=patient, time_zone=time_zone)
    current = ReminderSettings.objects.select_for_update().filter(patient_id=patient.pk).first()
    row = current or ReminderSettings(patient=patient)
    switched_on = current is not None and (
        (enabled and not current.enabled)
        or (email and not current.email)
        or (push and not current.push)
    )
    row.enabled, row.remind_at, row.days = enabled, remind_at, mask
    row.email, row.push = email, push
    row.quiet_start, row.quiet_end = quiet_start, quiet_end
    if switched_on:
        # Unsubscribe links sent before this change must not undo it (replay).
        row.generation += 1
    row.updated_at = timezone.now()
    row.full_clean()
    row.save()
    return row


# --- Push subscriptions ---------------------------------------------------------------------
@transaction.atomic
def push_subscription_save(*, patient, endpoint, p256dh, auth) -> PushSubscription:
    """Keep a browser's subscription; an endpoint seen before (the same browser) is updated
    and moves to whoever subscribed it last."""
    if not patient.is_patient:
        raise PermissionError("Only patients have diary reminders.")
    problems = push.subscription_problems(endpoint=endpoint, p256dh=p256dh, auth=auth)
    if problems:
        raise ValidationError({k: [v] for k, v in problems.items()})
    subscription, _ = PushSubscription.objects.update_or_create(
        endpoint=endpoint, defaults={"patient": patient, "p256dh": p256dh, "auth": auth}
    )
    return subscription


def push_subscription_delete(*, patient, endpoint: str) -> bool:
    deleted, _ = PushSubscription.objects.filter(patient_id=patient.pk, endpoint=endpoint).delete()
    return bool(deleted)


# --- Unsubscribe (RFC 8058 one-click) -------------------------------------------------------
class UnsubscribeResult(enum.Enum):
    DONE = "done"
    ALREADY = "already"  # that channel was already off: nothing to do
    STALE = "stale"  # the patient switched reminders back on after this link was sent
    INVALID = "invalid"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Unsubscribed:
    result: UnsubscribeResult
    channel: str = ""


@transaction.atomic
def unsubscribe_apply(*, token: str) -> Unsubscribed:
    """Turn off the one channel the link was sent on; a tampered, old or replayed link
    changes nothing."""
    try:
        found = tokens.read_unsubscribe_token(token)
    except tokens.BadToken as exc:
        return Unsubscribed(UnsubscribeResult.EXPIRED if exc.expired else UnsubscribeResult.INVALID)
    row = ReminderSettings.objects.select_for_update().filter(patient_id=found.patient_id).first()
    if row is None:
        return Unsubscribed(UnsubscribeResult.INVALID)
    if found.generation != row.generation:
        return Unsubscribed(UnsubscribeResult.STALE, found.channel)
    if not getattr(row, found.channel):
        return Unsubscribed(UnsubscribeResult.ALREADY, found.channel)
    setattr(row, found.channel, False)
    row.updated_at = timezone.now()
    row.save(update_fields=[found.channel, "updated_at"])
    return Unsubscribed(UnsubscribeResult.DONE, found.channel)


# --- Dispatch -------------------------------------------------------------------------------
@dataclass
class DispatchStats:
    due: int = 0
    claimed: int = 0
    emails_sent: int = 0
    pushes_sent: int = 0
    failed: int = 0
    subscriptions_removed: int = 0
    batches: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _claim(batch: list[Due], now: datetime) -> dict[tuple[int, str], int]:
    """Insert a send record for each reminder due; the unique constraint lets exactly one
    tick or worker win each (patient, day, kind). Returns {(patient, kind): record id} of the
    ones this call won. One statement, committed at once, before anything is sent."""
    rows: list[tuple[int, date, str]] = []
    for due in batch:
        if due.diary:
            rows.append((due.patient_id, due.day, SendKind.DIARY))
        if due.questionnaire_day is not None:
            rows.append((due.patient_id, due.questionnaire_day, SendKind.QUESTIONNAIRE))
    if not rows:
        return {}
    table = ReminderSend._meta.db_table
    columns = f"INSERT INTO {table} (patient_id, day, kind, claimed_at, status, channels) "
    conflict = " ON CONFLICT (patient_id, day, kind) DO NOTHING RETURNING id, patient_id, kind"
    if connection.vendor == "postgresql":
        # Three arrays, not thousands of placeholders: the driver parses the query once.
        sql = (
            columns + "SELECT p, d, k, %s, 'claimed', '' FROM "  # noqa: S608 - no values inlined
            "unnest(%s::bigint[], %s::date[], %s::text[]) AS t(p, d, k)" + conflict
        )
        params: list = [now, *map(list, zip(*rows, strict=True))]
    else:
        sql = columns + "VALUES " + ", ".join(["(%s, %s, %s, %s, 'claimed', '')"] * len(rows))
        sql += conflict
        params = [v for p, d, k in rows for v in (p, d, k, now)]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(pid, kind): rid for rid, pid, kind in cursor.fetchall()}


def _send_one(mail, sender: str, message) -> bool:
    """Through the backend's open smtplib connection when it is Django's SMTP backend and the
    message is pre-rendered (the address checks were done when it was rendered); through the
    backend's own send_messages otherwise (console, locmem, any other backend)."""
    if isinstance(mail, SmtpBackend) and isinstance(message, messages.PrerenderedEmail):
        mail.connection.sendmail(sender, [message.envelope_to], message.raw)
        return True
    message.connection = mail
    return bool(mail.send_messages([message]))


def _send_emails(outgoing: list[tuple[int, object]]) -> set[int]:
    """Send each message over one SMTP connection (reopened once if it drops); one refused
    address does not stop the rest."""
    delivered: set[int] = set()
    if not outgoing:
        return delivered
    mail = get_connection()
    sender = sanitize_address(settings.DEFAULT_FROM_EMAIL, "utf-8")
    try:
        mail.open()
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("reminder emails not sent: SMTP connection failed (%s)", type(exc).__name__)
        return delivered
    try:
        for pid, message in outgoing:
            try:
                if _send_one(mail, sender, message):
                    delivered.add(pid)
            except (smtplib.SMTPException, OSError) as exc:
                logger.warning("a reminder email failed (%s)", type(exc).__name__)
                if isinstance(exc, smtplib.SMTPServerDisconnected | OSError):
                    mail.close()
                    try:
                        mail.open()
                    except (smtplib.SMTPException, OSError):
                        break
    finally:
        mail.close()
    return delivered


def _send_pushes(batch: list[Due], won: dict, stats: DispatchStats) -> set[int]:
    by_patient = {d.patient_id: d for d in batch if d.push}
    if not by_patient or not settings.VAPID_PRIVATE_KEY:
        return set()  # no VAPID keys configured: Web Push is off (email still goes)
    subscriptions = PushSubscription.objects.filter(patient_id__in=list(by_patient)).values_list(
        "id", "patient_id", "endpoint", "p256dh", "auth"
    )
    delivered: set[int] = set()
    gone: list[int] = []
    with requests.Session() as session:
        for sid, pid, endpoint, p256dh, auth in subscriptions:
            due = by_patient[pid]
            diary, questionnaire = _kinds(due, won)
            payload = messages.reminder_push_payload(due, diary=diary, questionnaire=questionnaire)
            outcome = push.push_send(
                endpoint=endpoint, p256dh=p256dh, auth=auth, payload=payload, session=session
            )
            if outcome.ok:
                delivered.add(pid)
            elif outcome.gone:
                gone.append(sid)
    if gone:
        # RFC 8030 section 7.3: a subscription the push service calls gone is never retried.
        stats.subscriptions_removed += PushSubscription.objects.filter(id__in=gone).delete()[0]
    if delivered:
        PushSubscription.objects.filter(patient_id__in=delivered).update(
            last_sent_at=timezone.now()
        )
    return delivered


def _kinds(due: Due, won: dict) -> tuple[bool, bool]:
    return (due.patient_id, SendKind.DIARY) in won, (
        due.patient_id,
        SendKind.QUESTIONNAIRE,
    ) in won


def _record(won: dict, emailed: set[int], pushed: set[int]) -> int:
    """Mark each claimed record sent (with the channels that took it) or failed."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for (pid, _kind), rid in won.items():
        channels = ",".join(
            c for c, got in (("email", pid in emailed), ("push", pid in pushed)) if got
        )
        groups[(SendStatus.SENT if channels else SendStatus.FAILED, channels)].append(rid)
    now = timezone.now()
    failed = 0
    for (status, channels), ids in groups.items():
        ReminderSend.objects.filter(id__in=ids).update(
            status=status, channels=channels, sent_at=now if status == SendStatus.SENT else None
        )
        failed += len(ids) if status == SendStatus.FAILED else 0
    return failed


@dataclass
class _Prepared:
    """A claimed batch with its emails rendered, waiting for (or in) the SMTP thread."""

    won: dict
    mine: list[Due]
    emails: Future | None = None


def _prepare(batch: list[Due], now: datetime, stats: DispatchStats) -> _Prepared | None:
    won = _claim(batch, now)
    stats.due += len(batch)
    stats.claimed += len(won)
    if not won:
        return None
    mine = [d for d in batch if any(_kinds(d, won))]
    return _Prepared(won=won, mine=mine)


def _outgoing(prepared: _Prepared) -> list[tuple[int, object]]:
    return [
        (d.patient_id, messages.fast_reminder_email(d, diary=k[0], questionnaire=k[1]))
        for d in prepared.mine
        if d.email
        for k in [_kinds(d, prepared.won)]
    ]


def _finish(prepared: _Prepared, stats: DispatchStats) -> None:
    emailed = prepared.emails.result() if prepared.emails is not None else set()
    pushed = _send_pushes(prepared.mine, prepared.won, stats)
    stats.emails_sent += len(emailed)
    stats.pushes_sent += len(pushed)
    stats.failed += _record(prepared.won, emailed, pushed)


def reminders_dispatch(
    *, now: datetime | None = None, batch_size: int | None = None
) -> DispatchStats:
    """One beat tick: remind everyone whose reminder time has come (in their own time zone,
    on their days, outside quiet hours) and who has not logged today, or has a questionnaire
    newly due. Safe to run twice at once, on any number of workers: each send is claimed first.

    One thread sends a batch's emails over its SMTP connection while this one reads, claims and
    renders the next batch: the SMTP round trips wait on the mail server, not on our CPU. The
    sending thread never touches the database."""
    now = now or timezone.now()
    stats = DispatchStats()
    in_flight: _Prepared | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reminder-smtp") as smtp:
        try:
            size = batch_size or settings.REMINDERS_BATCH_SIZE
            for batch in due_batches(now=now, batch_size=size):
                stats.batches += 1
                prepared = _prepare(batch, now, stats)
                if prepared is None:
                    continue
                outgoing = _outgoing(prepared)
                if in_flight is not None:
                    _finish(in_flight, stats)
                prepared.emails = smtp.submit(_send_emails, outgoing) if outgoing else None
                in_flight = prepared
            if in_flight is not None:
                _finish(in_flight, stats)
                in_flight = None
        finally:
            if in_flight is not None and in_flight.emails is not None:
                in_flight.emails.cancel()
    return stats
