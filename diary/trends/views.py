"""The patient's trends page: charts over a chosen range, with a text summary beside them."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from diary.fields import SYMPTOM_FIELDS
from diary.trends.selectors import DEFAULT_RANGE, RANGES, range_dates, trends_for
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
