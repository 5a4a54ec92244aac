"""The patient's trends page: charts over a chosen range, with a text summary beside them."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from diary.fields import SYMPTOM_FIELDS
from diary.trends.associations import MIN_DAYS
from diary.trends.selectors import DEFAULT_RANGE, RANGES, bad_days_for, range_dates, trends_for
from diary.views import patient_required


@patient_required
def trends(request: HttpRequest) -> HttpResponse:
    key = request.GET.get("range", DEFAULT_RANGE)
    error = ""
    if key not in RANGES:
        error = f"There is no range called {key!r}; showing the last 30 days."
        key = DEFAULT_RANGE
    date_from, date_to = range_dates(patient=request.user, key=key)
    data = trends_for(patient=request.user, date_from=date_from, date_to=date_to)
    return render(
        request,
        "diary/trends.html",
        {
            "trends": data,
            "range_key": key,
            "range_label": RANGES[key][0],
            "ranges": [(k, label) for k, (label, _) in RANGES.items()],
            "symptoms": SYMPTOM_FIELDS,
            "error": error,
        },
        status=400 if error else 200,
    )


BAD_DAYS_DEFAULT = "90d"


@patient_required
def bad_days(request: HttpRequest) -> HttpResponse:
    """What goes with my bad days: factors and missed doses against the day's symptom score."""
    key = request.GET.get("range", BAD_DAYS_DEFAULT)
    error = ""
    if key not in RANGES:
        error = f"There is no range called {key!r}; showing the last 90 days."
        key = BAD_DAYS_DEFAULT
    date_from, date_to = range_dates(patient=request.user, key=key)
    data = bad_days_for(patient=request.user, date_from=date_from, date_to=date_to)
    return render(
        request,
        "diary/bad_days.html",
        {
            "data": data,
            "range_key": key,
            "ranges": [(k, label) for k, (label, _) in RANGES.items()],
            "min_days": MIN_DAYS,
            "error": error,
        },
        status=400 if error else 200,
    )
