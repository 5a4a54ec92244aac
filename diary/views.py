"""Patient pages: the daily entry, the list of days, and the dose checklist.

Medicines are in views_medicines.py and self-service (export, erasure) in views_account.py.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from diary import dates, selectors, services
from diary.fields import FACTOR_CHOICES, SYMPTOM_NAMES
from diary.forms import DayForm, EntryForm

logger = logging.getLogger(__name__)
ENTRIES_PER_PAGE = 31


def patients_only(denied: str):
    """A view decorator: signed-in patients only; anonymous users go to login, other roles get
    403 with `denied`."""

    def decorator(view):
        @wraps(view)
        @never_cache
        def wrapper(request: HttpRequest, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request.user.is_patient:
                raise PermissionDenied(denied)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


patient_required = patients_only("Only patients keep a diary.")


def nice_day(day: date) -> str:
    # "Monday 3 March 2025" in English; day and month names in the active language.
    return date_format(day, "l j F Y")


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


def _day_initial(request: HttpRequest, day: date, slots) -> tuple[dict, bool]:
    """The day as stored, or the last entry's values (and its doses) for 'same as yesterday'."""
    existing = selectors.entry_on(patient=request.user, day=day)
    if existing is not None:
        return EntryForm.initial_from(existing.values()), False
    if request.GET.get("same") == "1":
        previous = selectors.entry_before(patient=request.user, day=day)
        if previous is not None:
            initial = EntryForm.initial_from({**previous.values(), "note": ""})
            before = {
                (s.medicine.id, s.slot): s.status
                for s in selectors.dose_checklist(patient=request.user, day=previous.date)
            }
            for slot in slots:
                if slot.status is None and before.get((slot.medicine.id, slot.slot)):
                    initial[slot.field_name] = before[(slot.medicine.id, slot.slot)]
            return initial, True
    return {"flare": "no"}, False


def day_form_context(request: HttpRequest, day: date, form: DayForm | None = None) -> dict:
    """What templates/diary/_day_form.html needs (the day page and the dashboard share it)."""
    today = selectors.patient_today(request.user)
    from_yesterday = False
    if form is None:
        slots = selectors.dose_checklist(patient=request.user, day=day)
        initial, from_yesterday = _day_initial(request, day, slots)
        initial["idempotency_key"] = str(uuid.uuid4())
        initial["base_version"] = selectors.day_version(patient=request.user, day=day)
        form = DayForm(initial=initial, slots=slots)
    return {
        "form": form,
        "day": day,
        "today": today,
        "from_yesterday": from_yesterday,
        "has_previous": selectors.entry_before(patient=request.user, day=day) is not None,
    }


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _invalid(form: DayForm) -> JsonResponse:
    errors = {field: [str(m) for m in msgs] for field, msgs in form.errors.items()}
    return JsonResponse({"status": "invalid", "errors": errors}, status=400)


@patient_required
@require_http_methods(["GET", "POST"])
def entry_day(request: HttpRequest, day: date) -> HttpResponse:
    today = selectors.patient_today(request.user)
    if day < dates.window_for(request.user).first:
        raise Http404("No diary day this early.")
    if day > today:
        if request.method == "POST" and _wants_json(request):
            message = "This date is in the future: fill a day in once it has come."
            return JsonResponse({"status": "invalid", "errors": {"date": [message]}}, status=400)
        return render(request, "diary/entry_future.html", {"day": day, "today": today}, status=400)
    if request.method == "POST":
        return _day_post(request, day, today)
    return _day_page(request, day, day_form_context(request, day))


def _day_page(request: HttpRequest, day: date, context: dict, status: int = 200) -> HttpResponse:
    today = context["today"]
    existing = selectors.entry_on(patient=request.user, day=day)
    context.update(
        existing=existing,
        late=day < today,
        previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1) if day < today else None,
    )
    return render(request, "diary/entry_form.html", context, status=status)


def _day_post(request: HttpRequest, day: date, today: date) -> HttpResponse:
    slots = selectors.dose_checklist(patient=request.user, day=day)
    form = DayForm(request.POST, slots=slots)
    wants_json = _wants_json(request)
    conflict = None
    if form.is_valid():
        try:
            saved = services.day_save(
                patient=request.user,
                entry_date=day,
                values=form.values(),
                doses=form.dose_answers(),
                idempotency_key=form.cleaned_data["idempotency_key"],
                base_version=form.cleaned_data["base_version"]
                if "base_version" in request.POST
                else None,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        except services.DayConflict as exc:
            conflict = exc
        else:
            return _day_saved(request, saved, today, wants_json, form)
    if conflict is not None:
        server = DayForm.posted_values(conflict.entry_values, conflict.doses, slots)
        if wants_json:
            body = {
                "status": "conflict",
                "date": day.isoformat(),
                "server": server,
                "server_version": conflict.version,
                "mine": form.submitted_values(),
            }
            return JsonResponse(body, status=409)
        return _conflict_page(request, day, form, server, conflict.version)
    if wants_json:
        return _invalid(form)
    return _day_page(request, day, day_form_context(request, day, form), status=400)


def _day_saved(request, saved: services.DaySaved, today: date, wants_json: bool, form: DayForm):
    if wants_json:
        body = {"status": saved.status, "date": saved.date.isoformat(), "version": saved.version}
        return JsonResponse(body)
    if saved.status == "duplicate":
        messages.info(
            request, _("Your diary for %(day)s was already saved.") % {"day": nice_day(saved.date)}
        )
    elif form.values() is None:
        count = len(form.dose_answers())
        messages.success(
            request,
            ngettext(
                "Saved %(count)s dose for %(day)s. Fill in how you are whenever you are ready.",
                "Saved %(count)s doses for %(day)s. Fill in how you are whenever you are ready.",
                count,
            )
            % {"count": count, "day": nice_day(saved.date)},
        )
    else:
        messages.success(
            request, _("Saved your diary for %(day)s.") % {"day": nice_day(saved.date)}
        )
    return redirect("home" if saved.date == today else "diary:entry_list")


def _conflict_page(request, day: date, form: DayForm, server: dict, server_version: str):
    """Both versions side by side; "Keep mine" re-submits with the saved version as base."""
    data = request.POST.copy()
    data["base_version"] = server_version
    data["idempotency_key"] = str(uuid.uuid4())
    mine_form = DayForm(data, slots=form.slots)
    mine_form.is_valid()
    mine = form.submitted_values()
    rows = [
        (
            label,
            _shown(mine.get(name)),
            _shown(server.get(name)),
            mine.get(name) != server.get(name),
        )
        for name, label in _field_labels(form)
    ]
    context = day_form_context(request, day, mine_form)
    context.update(conflict_rows=rows, conflict=True)
    return _day_page(request, day, context, status=409)


def _field_labels(form: DayForm):
    for name in (*SYMPTOM_NAMES, "flare", "factors", "note"):
        yield name, form.fields[name].label
    for slot in form.slots:
        yield slot.field_name, form.fields[slot.field_name].label


def _shown(value) -> str:
    if isinstance(value, list):
        labels = dict(FACTOR_CHOICES)
        return ", ".join(_(labels[v]) if v in labels else v for v in value) or _("none")
    shown = {"yes": _("Yes"), "no": _("No"), "": _("not answered")}
    return shown.get(value, value or _("not answered"))


@patient_required
@require_POST
def entry_delete(request: HttpRequest, day: date) -> HttpResponse:
    if services.entry_delete(patient=request.user, entry_date=day):
        messages.success(
            request, _("Deleted your diary entry for %(day)s.") % {"day": nice_day(day)}
        )
    else:
        messages.error(request, _("There was no entry for that day."))
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
    missing = selectors.missed_days(patient=request.user, days=14)
    return render(
        request,
        "diary/entry_list.html",
        {"entries": entries, "page": page, "missing": missing, "today": today},
    )


# --- Dose checklist (the old separate form; the day form now holds the doses) ----------------
@patient_required
@require_POST
def dose_checklist(request: HttpRequest, day: date) -> HttpResponse:
    """Kept so that old pages and bookmarks still work: saves dose answers only, through the
    same service as the day form, then shows the day."""
    slots = selectors.dose_checklist(patient=request.user, day=day)
    answers = []
    for index, slot in enumerate(slots):
        status = request.POST.get(f"doses-dose_{index}") or request.POST.get(slot.field_name)
        if status:
            answers.append((slot.medicine.id, slot.slot, status))
    if not answers:
        messages.error(request, _("No doses were saved: choose taken, missed or skipped."))
        return redirect("diary:entry_day", day=day)
    try:
        services.day_save(patient=request.user, entry_date=day, values=None, doses=answers)
    except ValidationError as exc:
        messages.error(request, " ".join(sum(exc.message_dict.values(), [])))
        return redirect("diary:entry_day", day=day)
    messages.success(
        request,
        ngettext("Saved %(count)s dose.", "Saved %(count)s doses.", len(answers))
        % {"count": len(answers)},
    )
    return redirect("diary:entry_day", day=day)
