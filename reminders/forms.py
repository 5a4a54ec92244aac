"""Parsing reminder input (web form and API share the clock and channel rules)."""

from __future__ import annotations

import re
from datetime import time

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.profile import time_zone_names
from reminders.models import DAY_LABELS, DAY_NAMES

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")
TIME_FORMAT_MESSAGE = _("Enter the time as HH:MM on the 24-hour clock, e.g. 20:30.")


def parse_clock(value: str) -> time:
    """'HH:MM' (or HH:MM:SS, as some browsers send) -> time, seconds dropped."""
    found = _CLOCK.match(value.strip()) if isinstance(value, str) else None
    if not found:
        raise forms.ValidationError(TIME_FORMAT_MESSAGE, code="time_format")
    return time(int(found.group(1)), int(found.group(2)))


def time_zone_message(name: str) -> str:
    return f"{name!r} is not a known time zone: choose one from the list, e.g. Europe/London."


class ClockField(forms.Field):
    """HH:MM from an <input type="time"> (or typed where the browser has none)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
        super().__init__(**kwargs)

    def to_python(self, value):
        value = (value or "").strip() if isinstance(value, str) else value
        if value in self.empty_values:
            return None
        return parse_clock(value)

    def prepare_value(self, value):
        return value.strftime("%H:%M") if isinstance(value, time) else value


class ReminderSettingsForm(forms.Form):
    enabled = forms.BooleanField(label=_("Send me a reminder"), required=False)
    remind_at = ClockField(
        label=_("Reminder time"),
        help_text=_("On the 24-hour clock, in your time zone, e.g. 20:30."),
    )
    days = forms.MultipleChoiceField(
        label=_("On these days"),
        choices=[(name, _(label)) for name, label in zip(DAY_NAMES, DAY_LABELS, strict=True)],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    email = forms.BooleanField(label=_("By email"), required=False)
    push = forms.BooleanField(
        label=_("As a notification on this device (Web Push)"),
        required=False,
        help_text=_('Also press "Allow notifications on this device" below.'),
    )
    quiet_start = ClockField(
        label=_("Quiet hours start"), required=False, help_text=_("No reminder from this time...")
    )
    quiet_end = ClockField(
        label=_("Quiet hours end"), required=False, help_text=_("...until this time.")
    )
    time_zone = forms.ChoiceField(
        label=_("Your time zone"),
        help_text=_("Your reminder time and your diary day follow this time zone."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(name, name) for name in time_zone_names()]

    def _clean_fields(self):
        super()._clean_fields()
        # The choice field's own message ("Select a valid choice") does not say what is wrong.
        if "time_zone" in self.errors and self.data.get("time_zone"):
            self.errors["time_zone"] = self.error_class(
                [time_zone_message(self.data.get("time_zone"))]
            )
