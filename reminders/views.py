"""Reminder pages: the patient's settings, and the two links every reminder carries (open the
day; one-click unsubscribe), which work without signing in."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from diary.views import patients_only
from reminders import selectors, services, tokens
from reminders.forms import ReminderSettingsForm
from reminders.services import UnsubscribeResult

patient_required = patients_only("Only patients have diary reminders.")


def _initial(patient) -> dict:
    row = selectors.settings_for(patient=patient)
    return {
        "enabled": row.enabled,
        "remind_at": row.remind_at,
        "days": row.day_names,
        "email": row.email,
        "push": row.push,
        "quiet_start": row.quiet_start,
        "quiet_end": row.quiet_end,
        "time_zone": patient.time_zone,
    }


def _page(request, form, status=200) -> HttpResponse:
    return render(
        request,
        "reminders/settings.html",
        {
            "form": form,
            "subscriptions": selectors.push_subscriptions_of(patient=request.user),
            "vapid_public_key": settings.VAPID_PUBLIC_KEY,
        },
        status=status,
    )


@patient_required
@require_http_methods(["GET", "POST"])
def reminder_settings(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request, ReminderSettingsForm(initial=_initial(request.user)))
    form = ReminderSettingsForm(request.POST)
    if form.is_valid():
        try:
            services.reminder_settings_save(patient=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(name if name in form.fields else None, error)
        else:
            messages.success(request, _("Your reminder settings are saved."))
            return redirect("reminders:settings")
    return _page(request, form, status=400)


def _link_problem(request, *, expired: bool, what: str) -> HttpResponse:
    return render(
        request,
        "reminders/link_problem.html",
        {"expired": expired, "what": what},
        status=400,
    )


@never_cache
@require_http_methods(["GET"])
def open_link(request: HttpRequest, token: str) -> HttpResponse:
    """The link in a reminder: the day page, after signing in if need be. It never signs
    anyone in by itself (a forwarded email must not open the diary)."""
    try:
        link = tokens.read_open_token(token)
    except tokens.BadToken as exc:
        return _link_problem(request, expired=exc.expired, what="open")
    if link.target == "questionnaires":
        target = reverse("diary:questionnaire_list")
    else:
        target = reverse("diary:entry_day", kwargs={"day": link.day})
    if not request.user.is_authenticated:
        return redirect_to_login(target)
    if request.user.pk != link.patient_id:
        raise PermissionDenied("This reminder was sent to another account.")
    return redirect(target)


# RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click" with no cookies and no CSRF
# token; the signed token in the URL is the authority, and it can only switch one channel off.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "GET":
        # A GET changes nothing (mail scanners open links); it shows the button.
        try:
            found = tokens.read_unsubscribe_token(token)
        except tokens.BadToken as exc:
            return _link_problem(request, expired=exc.expired, what="unsubscribe")
        return render(request, "reminders/unsubscribe.html", {"channel": found.channel})
    outcome = services.unsubscribe_apply(token=token)
    if outcome.result in (UnsubscribeResult.INVALID, UnsubscribeResult.EXPIRED):
        return _link_problem(
            request, expired=outcome.result is UnsubscribeResult.EXPIRED, what="unsubscribe"
        )
    return render(
        request,
        "reminders/unsubscribed.html",
        {"result": outcome.result.value, "channel": outcome.channel},
    )
