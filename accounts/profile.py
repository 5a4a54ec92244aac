"""What a person may change about themselves: the name shown, the time zone their diary day
follows, and (patients) an optional year of birth."""

from __future__ import annotations

import zoneinfo
from functools import cache

from django.utils import timezone

from accounts.models import BIRTH_YEAR_MIN, TEXT_SIZES


@cache
def time_zone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones() - {"localtime", "Factory"}))


def birth_year_max() -> int:
    return timezone.now().year


def profile_problems(
    *, user, display_name=None, time_zone=None, birth_year=None, text_size=None
) -> dict:
    """Field -> message for each value that cannot be stored (None means 'not changing')."""
    problems = {}
    if display_name is not None and len(display_name) > 150:
        problems["display_name"] = "Use at most 150 characters."
    if time_zone is not None and time_zone not in time_zone_names():
        problems["time_zone"] = f"{time_zone!r} is not a known time zone, e.g. Europe/London."
    if birth_year is not None:
        if not user.is_patient:
            problems["birth_year"] = "Only patients record a year of birth."
        elif not BIRTH_YEAR_MIN <= birth_year <= birth_year_max():
            problems["birth_year"] = (
                f"Enter a year between {BIRTH_YEAR_MIN} and {birth_year_max()}, or leave it empty."
            )
    if text_size is not None and text_size not in TEXT_SIZES:
        offered = ", ".join(f"{size}%" for size in TEXT_SIZES)
        problems["text_size"] = f"Choose one of the text sizes offered: {offered}."
    return problems
