from __future__ import annotations

import logging

from allauth.account.views import PasswordResetView as AllauthPasswordResetView
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language_from_request
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from kombu import Connection

from accounts import selectors, services
from accounts.adapter import MAIL_FAILURE_SHOWN_BY_VIEW_ATTR, MAIL_UNAVAILABLE_MESSAGE, mail_failed
from accounts.forms import OtpCodeForm, ProfileForm
from accounts.models import Role
from accounts.two_factor import role_requires_two_factor

logger = logging.getLogger(__name__)

HOME_TEMPLATES = {
    Role.PATIENT: "home/patient.html",
    Role.CLINICIAN: "home/clinician.html",
    Role.RESEARCHER: "home/researcher.html",
    Role.STAFF: "home/staff.html",
}

# Other apps may add context to a role's home page without accounts depending on them.
HOME_CONTEXT_PROVIDERS: dict[str, list] = {}


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "home/anonymous.html")
    context: dict = {}
    for provider in HOME_CONTEXT_PROVIDERS.get(request.user.role, []):
        context.update(provider(request))
    return render(request, HOME_TEMPLATES[request.user.role], context)


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("home")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_enrol(request: HttpRequest) -> HttpResponse:
    if selectors.two_factor_enabled(user=request.user):
        return redirect("account_settings")
    # The secret stays the same until it is confirmed: a reload, or the browser fetching the
    # page again behind the person's back, must not void the code their app already shows.
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None:
        device = services.totp_device_start(user=request.user)
    form = OtpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = services.totp_device_confirm(device=device, token=form.cleaned_data["code"])
        if codes is not None:
            otp_login(request, device)
            logger.info("two-factor enrolled user=%s", request.user.pk)
            return render(
                request, "accounts/backup_codes.html", {"codes": codes, "next": _safe_next(request)}
            )
        form.add_error(
            "code", "That code is not right. Check the clock on your phone and try the newest code."
        )
    return render(
        request,
        "accounts/two_factor_enrol.html",
        {
            "form": form,
            "qr": services.totp_qr_data_uri(device),
            "secret": services.totp_secret_base32(device),
            "next": _safe_next(request),
            "required": role_requires_two_factor(request.user),
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not selectors.two_factor_enabled(user=user):
        return redirect("two_factor_enrol")
    if request.user.is_verified():
        return redirect(_safe_next(request))
    form = OtpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if selectors.login_locked_out(request=request, email=user.email):
            logger.warning("two-factor refused: locked out user=%s", user.pk)
            logout(request)
            return render(request, "accounts/locked_out.html", status=429)
        device = selectors.otp_device_matching(user=user, token=form.cleaned_data["code"])
        if device is not None:
            otp_login(request, device)
            messages.success(request, _("Signed in as %(email)s.") % {"email": user.email})
            return redirect(_safe_next(request))
        services.otp_failure_record(request=request, user=user)
        logger.info("two-factor code refused user=%s", user.pk)
        if selectors.login_locked_out(request=request, email=user.email):
            logout(request)
            return render(request, "accounts/locked_out.html", status=429)
        form.add_error(
            "code", "That code is not valid, or has already been used. Enter the newest code."
        )
    return render(
        request, "accounts/two_factor_verify.html", {"form": form, "next": _safe_next(request)}
    )


@never_cache
@login_required
def account_settings(request: HttpRequest) -> HttpResponse:
    return _settings_page(request, _profile_form(request.user))


def _profile_form(user, data=None) -> ProfileForm:
    initial = {
        "display_name": user.display_name,
        "time_zone": user.time_zone,
        "text_size": user.text_size,
        "language": user.language,
    }
    if user.is_patient:
        initial["birth_year"] = user.birth_year
    return ProfileForm(data, user=user, initial=initial)


def _settings_page(request: HttpRequest, profile_form: ProfileForm, status: int = 200):
    return render(
        request,
        "accounts/settings.html",
        {
            "profile_form": profile_form,
            "two_factor_enabled": selectors.two_factor_enabled(user=request.user),
            "two_factor_required": role_requires_two_factor(request.user),
            "backup_codes_left": selectors.backup_codes_left(user=request.user),
        },
        status=status,
    )


@never_cache
@login_required
@require_POST
def account_profile(request: HttpRequest) -> HttpResponse:
    form = _profile_form(request.user, request.POST)
    if form.is_valid():
        try:
            services.profile_update(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            # A new language applies from this response on, its confirmation included.
            translation.activate(request.user.language or get_language_from_request(request))
            messages.success(request, _("Your details are saved."))
            return redirect("account_settings")
    return _settings_page(request, form, status=400)


@login_required
@require_POST
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    try:
        services.two_factor_disable(user=request.user)
    except PermissionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Two-factor authentication is now off."))
    return redirect("account_settings")


@never_cache
@login_required
@require_POST
def backup_codes_regenerate(request: HttpRequest) -> HttpResponse:
    if not selectors.two_factor_enabled(user=request.user):
        return redirect("two_factor_enrol")
    codes = services.backup_codes_regenerate(user=request.user)
    return render(
        request, "accounts/backup_codes.html", {"codes": codes, "next": reverse("account_settings")}
    )


class PasswordResetView(AllauthPasswordResetView):
    """allauth's reset form, except that when the mail cannot be sent the form comes back with
    a calm message (503, Retry-After) instead of "check your email": the person can retry."""

    def form_valid(self, form):
        setattr(self.request, MAIL_FAILURE_SHOWN_BY_VIEW_ATTR, True)
        response = super().form_valid(form)
        if not mail_failed(self.request):
            return response
        form.add_error(None, MAIL_UNAVAILABLE_MESSAGE)
        response = self.render_to_response(self.get_context_data(form=form), status=503)
        response["Retry-After"] = "60"
        return response


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and readiness: the database and the broker, as JSON (503 if either is down)."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    healthy = all(v in {"ok", "eager"} for v in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503
    )


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "down"; the reason is logged
        logger.error("health: database unreachable: %s", type(exc).__name__)
        return "unavailable"
    return "ok"


def _check_broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    try:
        # A fresh connection (not the pool), so the check reflects the broker right now.
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # noqa: BLE001
        logger.error("health: broker unreachable: %s", type(exc).__name__)
        return "unavailable"
    return "ok"


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    logger.warning("csrf refused path=%s", request.path)
    return render(request, "errors/403_csrf.html", status=403)


@require_GET
def privacy(request: HttpRequest) -> HttpResponse:
    """The privacy notice (public: linked from sign-up and every page's footer)."""
    return render(request, "pages/privacy.html")


@require_GET
def terms(request: HttpRequest) -> HttpResponse:
    """The terms of use (public: linked from sign-up and every page's footer)."""
    return render(request, "pages/terms.html")


RESENT = (
    "If an account with that address is waiting for confirmation, we have sent it a new link. "
    "Look in your spam or junk folder too."
)


@require_http_methods(["GET", "POST"])
def resend_confirmation(request: HttpRequest) -> HttpResponse:
    """Send the address-confirmation email again. The answer is the same whether or not the
    address has an account (no account enumeration); allauth rate-limits the sending."""
    from allauth.account.models import EmailAddress

    from accounts.forms import ResendConfirmationForm

    form = ResendConfirmationForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            address = EmailAddress.objects.filter(
                email__iexact=form.cleaned_data["email"], verified=False
            ).first()
            if address is not None:
                address.send_confirmation(request)
                logger.info("confirmation email resent user=%s", address.user_id)
            messages.success(request, RESENT)
            return redirect("resend_confirmation")
        return render(request, "account/resend_confirmation.html", {"form": form}, status=400)
    return render(request, "account/resend_confirmation.html", {"form": form})
