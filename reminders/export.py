"""The reminders app's part of a patient's own export (diary.export.EXPORT_PARTS): their
reminder settings, the reminders sent to them, and the devices that receive pushes (when each
was added and last used, and the push service's host; not the device's keys, which are
secrets of the browser)."""

from __future__ import annotations

from urllib.parse import urlsplit

from diary.export import ExportPart, csv_text
from reminders import selectors
from reminders.models import DAY_NAMES

SEND_COLUMNS = ["day", "kind", "status", "channels", "sent_at"]


def _iso(value):
    return value.isoformat() if value else None


def _settings(patient) -> dict | None:
    row = selectors.settings_for(patient=patient)
    if row.pk is None:
        return None
    return {
        "enabled": row.enabled,
        "remind_at": row.remind_at.strftime("%H:%M"),
        "days": [name for i, name in enumerate(DAY_NAMES) if row.days & (1 << i)],
        "email": row.email,
        "push": row.push,
        "quiet_start": row.quiet_start.strftime("%H:%M") if row.quiet_start else None,
        "quiet_end": row.quiet_end.strftime("%H:%M") if row.quiet_end else None,
        "updated_at": _iso(row.updated_at),
    }


def reminders_export_part(*, patient) -> ExportPart:
    sends = [
        {
            "day": s.day.isoformat(),
            "kind": s.kind,
            "status": s.status,
            "channels": s.channels,
            "sent_at": _iso(s.sent_at),
        }
        for s in selectors.sends_of(patient=patient)
    ]
    devices = [
        {
            "push_service": urlsplit(sub.endpoint).hostname,
            "added_at": _iso(sub.created_at),
            "last_sent_at": _iso(sub.last_sent_at),
        }
        for sub in selectors.push_subscriptions_of(patient=patient)
    ]
    return ExportPart(
        key="reminders",
        data={
            "reminder_settings": _settings(patient),
            "reminders_sent": sends,
            "push_devices": devices,
        },
        csv_files={"reminders_sent.csv": csv_text(sends, SEND_COLUMNS)},
        readme="reminders_sent.csv   the reminders we sent you (never any health data)\n",
    )
