"""URL converter for diary days (YYYY-MM-DD); an impossible date, or one no diary can hold
(diary/dates.py), is a 404, not a 500."""

from __future__ import annotations

from datetime import date

from django.urls import register_converter

from diary.dates import url_day_possible


class IsoDateConverter:
    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str) -> date:
        day = date.fromisoformat(value)  # ValueError -> the URL does not match -> 404
        if not url_day_possible(day):
            raise ValueError(f"{value} is outside every diary's window")
        return day

    def to_url(self, value) -> str:
        return value.isoformat() if isinstance(value, date) else str(value)


# Registered once here; diary/urls.py and diary/api_urls.py both use "<isodate:day>".
register_converter(IsoDateConverter, "isodate")
