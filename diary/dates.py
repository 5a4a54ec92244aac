"""The window of dates a diary holds, in one place: services, forms, the API and URLs ask here.

A patient's window runs from 1 January of their birth year (when they gave it) or else from
FIXED_FLOOR, to today in the patient's time zone. Nobody alive has a diary day, a dose or a
medicine start before they were born, and FIXED_FLOOR (1920) is earlier than the birth year of
any living patient but late enough to catch typing errors (year 1, 1900, 0202). Medicine dates
may be planned ahead (a course that starts next week or ends in a month): up to PLANNED_DAYS.

A period asked for (trends, adherence, lists) must start inside the window and span at most
MAX_PERIOD_DAYS, so that no request can make the server walk centuries; its end is clamped to
today (a client a time zone ahead may say "tomorrow", and the future holds no records).

URLs name days before any patient is known: the converter accepts only days that can be in
someone's window (ABSOLUTE_FLOOR to two days after today in UTC, the farthest time zone ahead)
and anything else is a 404; the views then apply the patient's own window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import BIRTH_YEAR_MIN
from diary.selectors import patient_today

FIXED_FLOOR = date(1920, 1, 1)
ABSOLUTE_FLOOR = date(BIRTH_YEAR_MIN, 1, 1)
PLANNED_DAYS = 366
# Ten years of days: far more than any chart or adherence table needs.
MAX_PERIOD_DAYS = 3660
FUTURE_MESSAGE = "This date is in the future: fill a day in once it has come."


@dataclass(frozen=True)
class DateWindow:
    first: date
    last: date  # today, in the patient's time zone
    from_birth_year: bool

    def __contains__(self, day: date) -> bool:
        return self.first <= day <= self.last

    def before_message(self) -> str:
        why = "the year you were born" if self.from_birth_year else "the earliest a diary holds"
        return f"Choose a date on or after {self.first:%d %B %Y} ({why})."


def window_for(patient) -> DateWindow:
    birth_year = getattr(patient, "birth_year", None)
    first = date(birth_year, 1, 1) if birth_year else FIXED_FLOOR
    return DateWindow(max(first, ABSOLUTE_FLOOR), patient_today(patient), bool(birth_year))


def url_day_possible(day: date) -> bool:
    """Whether a day named in a URL can be in anyone's window (the URL converter's test)."""
    return ABSOLUTE_FLOOR <= day <= timezone.now().date() + timedelta(days=2)


def outside_any_window(day: date) -> str | None:
    """Why `day` cannot be in anyone's window (for periods read before the patient is known,
    e.g. a clinician's summary), or None."""
    if day < ABSOLUTE_FLOOR:
        return f"Choose a date on or after {ABSOLUTE_FLOOR:%d %B %Y}."
    if not url_day_possible(day):
        return "Choose a date that is not in the future."
    return None


def day_problem(
    *, patient, day: date, planned: bool = False, window: DateWindow | None = None
) -> str | None:
    """Why `day` cannot be stored for the patient, or None. `planned` allows medicine dates up
    to PLANNED_DAYS ahead; otherwise the day must not be after today."""
    window = window or window_for(patient)
    if day < window.first:
        return window.before_message()
    if planned:
        if day > window.last + timedelta(days=PLANNED_DAYS):
            return "Choose a date at most a year from today."
    elif day > window.last:
        return FUTURE_MESSAGE
    return None


def check_days(*, patient, planned: bool = False, **days: date | None) -> None:
    """Raise one ValidationError naming every field whose day is outside the window."""
    window = window_for(patient)
    errors = {
        field: [problem]
        for field, day in days.items()
        if day is not None
        and (problem := day_problem(patient=patient, day=day, planned=planned, window=window))
    }
    if errors:
        raise ValidationError(errors)


def resolve_period(
    *,
    patient,
    date_from: date | None,
    date_to: date | None,
    default_days: int | None = None,
    from_field: str = "from",
    to_field: str = "to",
) -> tuple[date | None, date | None]:
    """The period to compute, checked: errors under the names the client used.

    With default_days, a missing end is today and a missing start is default_days before the
    end; without, a missing bound stays None (an open-ended list).
    """
    window = window_for(patient)
    if date_to is None and default_days is not None:
        date_to = window.last
    if date_from is None and default_days is not None:
        date_from = date_to - timedelta(days=default_days - 1)
    errors: dict[str, list[str]] = {}
    if date_from is not None and date_from < window.first:
        errors[from_field] = [window.before_message()]
    elif date_from is not None and date_from > window.last:
        errors[from_field] = ["The period cannot start in the future."]
    if date_to is not None and date_to < window.first:
        errors[to_field] = [window.before_message()]
    if date_to is not None and date_to > window.last:
        date_to = window.last  # the future holds nothing yet
    if not errors and date_from is not None and date_to is not None:
        if date_to < date_from:
            errors[to_field] = ["The end of the period is before its start."]
        elif (date_to - date_from).days + 1 > MAX_PERIOD_DAYS:
            errors[from_field] = [f"Ask for at most {MAX_PERIOD_DAYS} days (ten years) at a time."]
    if errors:
        raise ValidationError(errors)
    return date_from, date_to
