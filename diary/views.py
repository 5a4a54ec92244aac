"""Patient pages: the daily entry, the list of days, and the dose checklist.

Medicines are in views_medicines.py and self-service (export, erasure) in views_account.py.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from diary import selectors, services
from diary.forms import DoseChecklistForm, EntryForm

logger = logging.getLogger(__name__)
ENTRIES_PER_PAGE = 31


def patient_required(view):
    """Signed-in patients only: anonymous users go to login, other roles get 403."""

    @wraps(view)
    @never_cache
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_patient:
            raise PermissionDenied("Only patients keep a diary.")
        return view(request, *args, **kwargs)

    return wrapper


def nice_day(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def apply_errors(form, error: ValidationError) -> None:
    """Put a service's field-level errors on the form (unknown fields become form errors)."""
    for field, messages_ in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages_)


# --- Daily entry ----------------------------------------------------------------------------
@patient_required
def entry_today(request: HttpRequest) -> HttpResponse:
    url = reverse("diary:entry_day", args=[selectors.patient_today(request.user)])
    if request.GET.get("same") == "1":
        url += "?same=1"
    return redirect(url)


def _entry_initial(request: HttpRequest, day: date) -> tuple[dict, bool]:
    """The day as stored, or yesterday's values when 'same as yesterday' was asked for."""
    existing = selectors.entry_on(patient=request.user, day=day)
    if existing is not None:
        return EntryForm.initial_from(existing.values()), False
    if request.GET.get("same") == "1":
        previous = selectors.entry_before(patient=request.user, day=day)
        if previous is not None:
            return EntryForm.initial_from({**previous.values(), "note": ""}), True
    return {"flare": "no"}, False


@patient_required
@require_http_methods(["GET", "POST"])
def entry_day(request: HttpRequest, day: date) -> HttpResponse:
    today = selectors.patient_today(request.user)
    if day > today:
        return render(request, "diary/entry_future.html", {"day": day, "today": today}, status=400)
    existing = selectors.entry_on(patient=request.user, day=day)
    if request.method == "POST":
        form = EntryForm(request.POST)
        if form.is_valid() and _save_entry(request, form, day):
            messages.success(request, f"Saved your diary for {nice_day(day)}.")
            return redirect("home" if day == today else "diary:entry_list")
        status = 400
    else:
        initial, from_yesterday = _entry_initial(request, day)
        form = EntryForm(initial=initial)
        status = 200
    context = {
        "form": form,
        "day": day,
        "today": today,
        "existing": existing,
        "from_yesterday": request.method == "GET" and from_yesterday,
        "late": day < today,
        "previous_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1) if day < today else None,
        "dose_form": _dose_form(request, day),
    }
    return render(request, "diary/entry_form.html", context, status=status)


def _save_entry(request: HttpRequest, form: EntryForm, day: date) -> bool:
    try:
        services.entry_save(patient=request.user, entry_date=day, values=form.values())
    except ValidationError as exc:
        apply_errors(form, exc)
        return False
    return True


@patient_required
@require_POST
def entry_delete(request: HttpRequest, day: date) -> HttpResponse:
    if services.entry_delete(patient=request.user, entry_date=day):
        messages.success(request, f"Deleted your diary entry for {nice_day(day)}.")
    else:
        messages.error(request, "There was no entry for that day.")
    return redirect("diary:entry_list")


@patient_required
def entry_list(request: HttpRequest) -> HttpResponse:
    dates = request.user.diary_entries.order_by("-date").values_list("date", flat=True)
    page = Paginator(dates, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    entries = []
    if page.object_list:
        days = list(page.object_list)
        entries = selectors.entries_between(
            patient=request.user, date_from=days[-1], date_to=days[0]
        )[::-1]
    today = selectors.patient_today(request.user)
    recent = selectors.entry_dates(
        patient=request.user, date_from=today - timedelta(days=13), date_to=today
    )
    missing = [
        today - timedelta(days=i) for i in range(14) if today - timedelta(days=i) not in recent
    ]
    return render(
        request,
        "diary/entry_list.html",
        {"entries": entries, "page": page, "missing": missing, "today": today},
    )


# --- Dose checklist -------------------------------------------------------------------------
def _dose_form(request: HttpRequest, day: date, data=None) -> DoseChecklistForm | None:
    slots = selectors.dose_checklist(patient=request.user, day=day)
    return DoseChecklistForm(data, slots=slots, prefix="doses") if slots else None


@patient_required
@require_POST
def dose_checklist(request: HttpRequest, day: date) -> HttpResponse:
    form = _dose_form(request, day, request.POST)
    if form is None or not form.is_valid():
        messages.error(request, "No doses were saved: choose taken, missed or skipped.")
        return redirect("diary:entry_day", day=day)
    saved = 0
    try:
        with transaction.atomic():  # all of the day's answers, or none of them
            for slot, status in form.answers():
                services.dose_log_set(
                    patient=request.user,
                    medicine_id=slot.medicine.id,
                    day=day,
                    status=status,
                    slot=slot.slot,
                )
                saved += 1
    except ValidationError as exc:
        messages.error(request, " ".join(sum(exc.message_dict.values(), [])))
        return redirect("diary:entry_day", day=day)
    messages.success(request, f"Saved {saved} dose{'s' if saved != 1 else ''}.")
    return redirect("diary:entry_day", day=day)
