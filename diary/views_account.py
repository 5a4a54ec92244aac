"""Self-service: download all my data, and delete my account (re-authenticated)."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth import authenticate, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.selectors import login_locked_out
from diary import export, services
from diary.forms import ConfirmPasswordForm
from diary.selectors import patient_today
from diary.views import patient_required

logger = logging.getLogger(__name__)


def password_confirms(request, user, password: str) -> bool:
    """Re-authentication through the normal backends, so axes counts and locks out failures."""
    if login_locked_out(request=request, email=user.email):
        return False
    return authenticate(request, email=user.email, password=password) is not None


@patient_required
def my_data(request: HttpRequest) -> HttpResponse:
    return render(request, "diary/my_data.html", {"form": ConfirmPasswordForm(user=request.user)})


def export_response(patient) -> HttpResponse:
    content = export.build_export_zip(patient=patient)
    response = HttpResponse(content, content_type="application/zip")
    name = f"my-sjogrens-diary-{patient_today(patient).isoformat()}.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@patient_required
def my_data_export(request: HttpRequest) -> HttpResponse:
    logger.info("self export patient=%s", request.user.pk)
    return export_response(request.user)


@patient_required
@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest) -> HttpResponse:
    form = ConfirmPasswordForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        if password_confirms(request, request.user, form.cleaned_data["password"]):
            patient = request.user
            logout(request)
            services.patient_erase(patient=patient)
            messages.success(request, _("Your account and your diary have been deleted."))
            return redirect("home")
        form.add_error("password", _("That password is not right."))
    status = 400 if form.is_bound else 200
    return render(request, "diary/account_delete.html", {"form": form}, status=status)
