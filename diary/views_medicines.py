"""Patient pages for medicines: list with adherence, add, change dose, stop."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from diary import selectors, services
from diary.forms import MedicineChangeForm, MedicineForm, MedicineStopForm, PeriodForm
from diary.models import Medicine
from diary.views import apply_errors, patient_required

DEFAULT_ADHERENCE_DAYS = 30


def _period(request: HttpRequest, today):
    default = {"date_from": today - timedelta(days=DEFAULT_ADHERENCE_DAYS - 1), "date_to": today}
    if "date_from" not in request.GET:
        form = PeriodForm(initial=default, patient=request.user)
        return form, default["date_from"], default["date_to"]
    form = PeriodForm(request.GET, patient=request.user)
    if form.is_valid():
        return form, form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    return form, default["date_from"], default["date_to"]


@patient_required
def medicine_list(request: HttpRequest) -> HttpResponse:
    today = selectors.patient_today(request.user)
    period_form, date_from, date_to = _period(request, today)
    medicines = selectors.medicines_for(patient=request.user)
    context = {
        "current": [m for m in medicines if m.end_date is None or m.end_date >= today],
        "stopped": [m for m in medicines if m.end_date is not None and m.end_date < today],
        "adherence": selectors.adherence(
            patient=request.user, date_from=date_from, date_to=date_to
        ),
        "period_form": period_form,
        "date_from": date_from,
        "date_to": date_to,
    }
    status = 400 if period_form.is_bound and not period_form.is_valid() else 200
    return render(request, "diary/medicine_list.html", context, status=status)


@patient_required
@require_http_methods(["GET", "POST"])
def medicine_add(request: HttpRequest) -> HttpResponse:
    today = selectors.patient_today(request.user)
    form = MedicineForm(request.POST or None, initial={"start_date": today})
    if request.method == "POST" and form.is_valid():
        try:
            services.medicine_add(
                patient=request.user,
                code=form.medicine_code,
                name=form.medicine_name,
                dose=form.cleaned_data["dose"],
                unit=form.cleaned_data["unit"],
                schedule=form.cleaned_data["schedule"],
                start_date=form.cleaned_data["start_date"],
                times=form.cleaned_data["times"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Added %(name)s.") % {"name": form.medicine_name})
            return redirect("diary:medicine_list")
    status = 400 if form.is_bound else 200
    return render(request, "diary/medicine_form.html", {"form": form}, status=status)


def _own_medicine(request: HttpRequest, medicine_id):
    medicine = selectors.medicine_get(patient=request.user, medicine_id=medicine_id)
    if medicine is None:
        raise Http404("No such medicine.")
    return medicine


@patient_required
@require_http_methods(["GET", "POST"])
def medicine_change(request: HttpRequest, medicine_id) -> HttpResponse:
    medicine = _own_medicine(request, medicine_id)
    initial = {
        "dose": medicine.dose,
        "unit": medicine.unit,
        "schedule": medicine.schedule,
        "times": ", ".join(medicine.times),
        "effective": selectors.patient_today(request.user),
    }
    form = MedicineChangeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.medicine_update(
                patient=request.user, medicine_id=medicine.id, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Changed the dose of %(name)s.") % {"name": medicine.name})
            return redirect("diary:medicine_list")
    status = 400 if form.is_bound else 200
    return render(
        request, "diary/medicine_change.html", {"form": form, "medicine": medicine}, status=status
    )


@patient_required
@require_http_methods(["GET", "POST"])
def medicine_stop(request: HttpRequest, medicine_id) -> HttpResponse:
    medicine = _own_medicine(request, medicine_id)
    form = MedicineStopForm(
        request.POST or None, initial={"end_date": selectors.patient_today(request.user)}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.medicine_stop(
                patient=request.user,
                medicine_id=medicine.id,
                end_date=form.cleaned_data["end_date"],
            )
        except (ValidationError, Medicine.DoesNotExist) as exc:
            if isinstance(exc, Medicine.DoesNotExist):
                raise Http404("No such medicine.") from exc
            apply_errors(form, exc)
        else:
            messages.success(
                request, _("Recorded that you stopped %(name)s.") % {"name": medicine.name}
            )
            return redirect("diary:medicine_list")
    status = 400 if form.is_bound else 200
    return render(
        request, "diary/medicine_stop.html", {"form": form, "medicine": medicine}, status=status
    )
