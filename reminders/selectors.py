"""Reads for reminders: a patient's own settings, and who is due a reminder right now.

Diary data is read only through diary's selectors (has the day been logged, is a
questionnaire due), never its tables."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db.models import Q

from accounts.models import Role
from diary.questionnaires.selectors import questionnaire_nudge_days
from diary.selectors import patients_with_entry_on
from reminders.models import PushSubscription, ReminderSend, ReminderSettings


def settings_for(*, patient) -> ReminderSettings:
    """The patient's settings, unsaved defaults (reminders off) if never set."""
    found = ReminderSettings.objects.filter(patient_id=patient.pk).first()
    return found or ReminderSettings(patient=patient)


def push_subscriptions_of(*, patient) -> list[PushSubscription]:
    return list(PushSubscription.objects.filter(patient_id=patient.pk).order_by("created_at"))


@dataclass(frozen=True)
class Due:
    """One patient to remind now: what is due (diary today, a questionnaire) and how."""

    patient_id: int
    patient_public_id: uuid.UUID  # what links name the patient by
    email_address: str
    day: date  # the patient's own today
    diary: bool  # today not logged yet
    questionnaire_day: date | None  # the day a questionnaire fell due, if one is due
    email: bool
    push: bool
    generation: int


def in_quiet_hours(now: time, start: time | None, end: time | None) -> bool:
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= now < end
    return now >= start or now < end  # the window crosses midnight


_COLUMNS = (
    "patient_id",
    "patient__email",
    "patient__time_zone",
    "patient__date_joined",
    "remind_at",
    "days",
    "email",
    "push",
    "quiet_start",
    "quiet_end",
    "generation",
    "patient__public_id",
)


def _zone(name: str, zones: dict[str, ZoneInfo | None]) -> ZoneInfo | None:
    if name not in zones:
        try:
            zones[name] = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            zones[name] = None
    return zones[name]


def _time_due(row: tuple, now: datetime, zones: dict) -> tuple[date, date] | None:
    """(local today, local sign-up day) when the reminder time has come, else None."""
    zone = _zone(row[2], zones) or ZoneInfo(settings.TIME_ZONE)
    local = now.astimezone(zone)
    if not row[5] & (1 << local.weekday()):
        return None
    clock = local.time().replace(tzinfo=None)
    if clock < row[4] or in_quiet_hours(clock, row[8], row[9]):
        return None
    return local.date(), row[3].astimezone(zone).date()


def due_batches(*, now: datetime, batch_size: int) -> Iterator[list[Due]]:
    """Everyone due a reminder at `now`, a batch at a time (keyset pages by patient id, so
    memory stays flat however many patients there are). Sends already claimed are filtered
    later, by the claim itself."""
    zones: dict[str, ZoneInfo | None] = {}
    after = 0
    while True:
        rows = list(
            ReminderSettings.objects.filter(
                enabled=True,
                patient_id__gt=after,
                patient__is_active=True,
                patient__role=Role.PATIENT,
            )
            .filter(Q(email=True) | Q(push=True))
            .order_by("patient_id")
            .values_list(*_COLUMNS)[:batch_size]
        )
        if not rows:
            return
        after = rows[-1][0]
        days = {}
        for row in rows:
            found = _time_due(row, now, zones)
            if found is not None:
                days[row[0]] = (row, *found)
        if not days:
            continue
        logged = patients_with_entry_on(day_by_patient={p: v[1] for p, v in days.items()})
        nudges = questionnaire_nudge_days(days_by_patient={p: v[1:] for p, v in days.items()})
        batch = [
            Due(
                patient_id=pid,
                patient_public_id=row[11],
                email_address=row[1],
                day=today,
                diary=pid not in logged,
                questionnaire_day=nudges.get(pid),
                email=row[6],
                push=row[7],
                generation=row[10],
            )
            for pid, (row, today, _first) in days.items()
            if pid not in logged or pid in nudges
        ]
        if batch:
            yield batch


def sends_of(*, patient) -> list[ReminderSend]:
    return list(ReminderSend.objects.filter(patient_id=patient.pk).order_by("day", "kind"))
