"""The clinician's pages: patient list, one patient's timeline, the pre-appointment summary and
its PDF. Thin: parse the query, call one selector, render. Every read is logged by the selectors
(consent decides who may see what and records it)."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts import selectors as account_selectors
from clinic import pdf, selectors, summary, timeline
from clinic.forms import PatientListForm, PeriodForm, bind
from consent import selectors as consent_selectors
from consent.models import ShareScope
from consent.views import clinician_required
from diary.fields import SYMPTOM_FIELDS


@never_cache
@clinician_required
@require_GET
def patients(request: HttpRequest) -> HttpResponse:
    default = selectors.default_list_period()
    form = bind(PatientListForm, request.GET, default)
    valid = form.is_valid()
    data = form.cleaned_data if valid else {}
    date_from, date_to = (data["date_from"], data["date_to"]) if valid else default
    chosen = valid and ("from" in request.GET or "to" in request.GET)
    rows = selectors.patient_rows(
        clinician=request.user,
        request=request,
        # Not chosen: each patient's own last 30 days (diary days follow their time zone).
        date_from=date_from if chosen else None,
        date_to=date_to if chosen else None,
        search=data.get("q", ""),
        sort=data.get("sort") or "name",
    )
    return render(
        request,
        "clinic/patients.html",
        {
            "rows": rows,
            "form": form,
            "date_from": date_from,
            "date_to": date_to,
            "verified": consent_selectors.clinician_is_verified(clinician=request.user),
            "pending": consent_selectors.grants_for_clinician(clinician=request.user).filter(
                status="requested", revoked_at__isnull=True
            ),
        },
        status=200 if valid else 400,
    )


def _period_or_400(request: HttpRequest, patient_id: int | None, default):
    """(form, date_from, date_to, valid); an invalid period falls back to the default, shown
    with the form's error and a 400. The grant is checked first, so a clinician without one
    gets the 404 (logged as denied), never a 400 that confirms the patient exists."""
    form = bind(PeriodForm, request.GET, default)
    if form.is_valid():
        return form, form.cleaned_data["date_from"], form.cleaned_data["date_to"], True
    if not consent_selectors.can_see(
        clinician=request.user, patient_id=patient_id, scope=ShareScope.DIARY
    ):
        consent_selectors.grant_for_read(  # raises Http404 and logs the refusal
            clinician=request.user, patient_id=patient_id, scope=ShareScope.DIARY, request=request
        )
    return form, default[0], default[1], False


@never_cache
@require_GET
def patient_summary(request: HttpRequest, patient: UUID) -> HttpResponse:
    """Anyone but a clinician with an active diary grant gets a 404 (logged as denied)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    # The URL names the patient by public id; an unknown one is refused like a patient without
    # a grant (404, logged as denied).
    patient_id = account_selectors.user_pk(public_id=patient)
    form, date_from, date_to, valid = _period_or_400(request, patient_id, summary.default_period())
    report = summary.clinician_summary(
        clinician=request.user,
        patient_id=patient_id,
        date_from=date_from,
        date_to=date_to,
        request=request,
    )
    return render(
        request,
        "clinic/summary.html",
        {"report": report, "form": form, "symptoms": SYMPTOM_FIELDS},
        status=200 if valid else 400,
    )


@never_cache
@require_GET
def patient_timeline(request: HttpRequest, patient: UUID) -> HttpResponse:
    """A clinician with an active grant (any scope) sees what it covers; anyone else a 404
    (logged as denied). A reversed or blank period: the form's error and a 400, nothing read."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    # The URL names the patient by public id; an unknown one is refused like a patient without
    # a grant (404, logged as denied).
    patient_id = account_selectors.user_pk(public_id=patient)
    default = timeline.default_period(timezone.localdate())
    form = bind(PeriodForm, request.GET, default)
    if not form.is_valid():
        # The grant first, so that the 400 never confirms a patient to someone without one.
        consent_selectors.grant_for_read(
            clinician=request.user, patient_id=patient_id, scope=None, request=request
        )
        return render(
            request,
            "clinic/timeline.html",
            {
                "form": form,
                "report": None,
                "patient_public_id": patient,
                "date_from": default[0],
                "date_to": default[1],
            },
            status=400,
        )
    report = timeline.patient_timeline(
        clinician=request.user,
        patient_id=patient_id,
        date_from=form.cleaned_data["date_from"],
        date_to=form.cleaned_data["date_to"],
        request=request,
    )
    return render(
        request,
        "clinic/timeline.html",
        {
            "form": form,
            "report": report,
            "patient_public_id": patient,
            "date_from": report.date_from,
            "date_to": report.date_to,
            "kinds": timeline.KIND_LABELS,
        },
    )


@never_cache
@require_GET
def patient_summary_pdf(request: HttpRequest, patient: UUID) -> HttpResponse:
    """The summary as a PDF drawn on the server; same access rules and period as the page."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    # The URL names the patient by public id; an unknown one is refused like a patient without
    # a grant (404, logged as denied).
    patient_id = account_selectors.user_pk(public_id=patient)
    form, date_from, date_to, valid = _period_or_400(request, patient_id, summary.default_period())
    if not valid:
        message = " ".join(e for errors in form.errors.values() for e in errors)
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    report = summary.clinician_summary(
        clinician=request.user,
        patient_id=patient_id,
        date_from=date_from,
        date_to=date_to,
        request=request,
    )
    response = HttpResponse(pdf.summary_pdf(report), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="summary-{patient}-{date_from:%Y%m%d}-{date_to:%Y%m%d}.pdf"'
    )
    return response
