"""What a person may change about themselves: the name shown, the time zone their diary day
follows, and (patients) an optional year of birth."""

from __future__ import annotations

import zoneinfo
from functools import cache

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import BIRTH_YEAR_MIN, TEXT_SIZES


@cache
def time_zone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones() - {"localtime", "Factory"}))


def birth_year_max() -> int:
    return timezone.now().year


def profile_problems(
    *, user, display_name=None, time_zone=None, birth_year=None, text_size=None, language=None
) -> dict:
    """Field -> message for each value that cannot be stored (None means 'not changing')."""
    problems = {}
    if display_name is not None and len(display_name) > 150:
        problems["display_name"] = _("Use at most 150 characters.")
    if time_zone is not None and time_zone not in time_zone_names():
        problems["time_zone"] = _("%(name)r is not a known time zone, e.g. Europe/London.") % {
            "name": time_zone
        }
    if birth_year is not None:
        if not user.is_patient:
            problems["birth_year"] = _("Only patients record a year of birth.")
        elif not BIRTH_YEAR_MIN <= birth_year <= birth_year_max():
            problems["birth_year"] = _(
                "Enter a year between %(first)s and %(last)s, or leave it empty."
            ) % {"first": BIRTH_YEAR_MIN, "last": birth_year_max()}
    if text_size is not None and text_size not in TEXT_SIZES:
        offered = ", ".join(f"{size}%" for size in TEXT_SIZES)
        problems["text_size"] = _("Choose one of the text sizes offered: %(offered)s.") % {
            "offered": offered
        }
    if language is not None and language != "" and language not in language_codes():
        problems["language"] = _(
            "%(code)r is not a language this portal offers. Choose one of: %(offered)s "
            "(or leave it empty to follow your browser)."
        ) % {"code": language, "offered": ", ".join(language_codes())}
    return problems


def language_codes() -> tuple[str, ...]:
    """The interface languages offered (settings.LANGUAGES), by code."""
    return tuple(code for code, _name in settings.LANGUAGES)
