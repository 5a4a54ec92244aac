"""The patient's trends page: charts over a chosen range, with a text summary beside them."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from diary.fields import SYMPTOM_FIELDS
from diary.selectors import patient_today
from diary.trends.associations import MIN_DAYS
from diary.trends.forms import SummaryPeriodForm
from diary.trends.selectors import (
    DEFAULT_RANGE,
    RANGES,
    bad_days_for,
    first_record_date,
    range_dates,
    summary_data_for,
    trends_for,
)
from diary.views import patient_required


@patient_required
def trends(request: HttpRequest) -> HttpResponse:
    key = request.GET.get("range", DEFAULT_RANGE)
    error = ""
    if key not in RANGES:
        error = _("There is no range called %(key)r; showing the last 30 days.") % {"key": key}
        key = DEFAULT_RANGE
    date_from, date_to = range_dates(patient=request.user, key=key)
    data = trends_for(
        patient=request.user, date_from=date_from, date_to=date_to, include_questionnaires=True
    )
    return render(
        request,
        "diary/trends.html",
        {
            "trends": data,
            "range_key": key,
            "range_label": RANGES[key][0],
            "ranges": [(k, label) for k, (label, _days) in RANGES.items()],
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
        error = _("There is no range called %(key)r; showing the last 90 days.") % {"key": key}
        key = BAD_DAYS_DEFAULT
    date_from, date_to = range_dates(patient=request.user, key=key)
    data = bad_days_for(patient=request.user, date_from=date_from, date_to=date_to)
    return render(
        request,
        "diary/bad_days.html",
        {
            "data": data,
            "range_key": key,
            "ranges": [(k, label) for k, (label, _days) in RANGES.items()],
            "min_days": MIN_DAYS,
            "error": error,
        },
        status=400 if error else 200,
    )


@patient_required
def summary_pdf(request: HttpRequest) -> HttpResponse:
    """A PDF summary of a chosen period to take to the clinic; the form again (400) with a
    plain message for an empty, reversed or impossible period."""
    from django.http import HttpResponse as Response

    from diary.trends.summary_pdf import build_summary_pdf

    today = patient_today(request.user)
    form = SummaryPeriodForm(
        request.GET or None, today=today, first_day=first_record_date(patient=request.user)
    )
    if not request.GET:
        form = SummaryPeriodForm(
            initial={"date_from": today - timedelta(days=89), "date_to": today},
            today=today,
            first_day=None,
        )
        return render(request, "diary/summary_pdf.html", {"form": form})
    if form.is_valid():
        start, end = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
        data = summary_data_for(patient=request.user, date_from=start, date_to=end)
        if not (int(data.frame["recorded"].sum()) or data.questionnaires or data.adherence):
            form.add_error(
                None,
                _("Nothing is recorded between %(start)s and %(end)s: choose another period.")
                % {"start": date_format(start), "end": date_format(end)},
            )
        else:
            if form.clamped:
                note = _("Your diary starts on %(start)s, so the summary starts there.") % {
                    "start": date_format(start)
                }
                data = replace(data, note=note)
            response = Response(build_summary_pdf(data), content_type="application/pdf")
            name = f"diary-summary-{start.isoformat()}-to-{end.isoformat()}.pdf"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
    return render(request, "diary/summary_pdf.html", {"form": form}, status=400)
