"""HTML views: thin, each parses input, calls one service or selector, and renders."""

from __future__ import annotations

from functools import wraps
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role
from consent import selectors, services
from consent.forms import (
    AccessRequestForm,
    AnswerRequestForm,
    ConsentGiveForm,
    ConsentWithdrawForm,
    ShareForm,
)
from consent.models import AccessOutcome, ConsentDocument, ConsentVia, Registry


def _role_required(role: str):
    """Anonymous: to sign-in. Another role: 403, logged as a denied authorisation (the route
    itself names no patient, so the refusal reveals nothing)."""

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if request.user.role != role:
                services.access_log_record(
                    actor=request.user,
                    patient_id=None,
                    outcome=AccessOutcome.DENIED,
                    request=request,
                )
                return render(request, "403.html", status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


# The clinician's patient list lives in clinic/ (DESIGN.md 6b); consent names its route but never
# imports the app above it.
CLINICIAN_HOME = "clinic:patients"

patient_required = _role_required(Role.PATIENT)
clinician_required = _role_required(Role.CLINICIAN)


def _validation_messages(exc: ValidationError) -> list[str]:
    return exc.messages


# --- Patient: consent -------------------------------------------------------------------------


@never_cache
@patient_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    patient = request.user
    states = [(g, selectors.grant_state(g)) for g in selectors.grants_for_patient(patient=patient)]
    return render(
        request,
        "consent/overview.html",
        {
            "states": selectors.consent_states(patient=patient),
            "has_nhs_number": selectors.has_nhs_number(patient=patient),
            "give_form": ConsentGiveForm(),
            "grants": [(g, s) for g, s in states if s != selectors.WAITING],
            "requests": [g for g, s in states if s == selectors.WAITING],
        },
    )


@never_cache
@patient_required
@require_POST
def consent_give(request: HttpRequest) -> HttpResponse:
    form = ConsentGiveForm(request.POST)
    if form.is_valid():
        document = ConsentDocument.objects.filter(
            public_id=form.cleaned_data["document_id"], published_at__isnull=False
        ).first()
        try:
            if document is None:
                raise ValidationError("This consent document does not exist.")
            services.consent_give(
                patient=request.user,
                document=document,
                via=ConsentVia.WEB,
                nhs_number=form.cleaned_data["nhs_number"],
            )
        except ValidationError as exc:
            for message in _validation_messages(exc):
                messages.error(request, message)
        else:
            messages.success(request, f"Thank you: you agreed to “{document.title}”.")
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    return redirect("consent:overview")


@never_cache
@patient_required
@require_POST
def consent_withdraw(request: HttpRequest) -> HttpResponse:
    form = ConsentWithdrawForm(request.POST)
    if form.is_valid():
        registry = Registry.objects.filter(slug=form.cleaned_data["registry"]).first()
        try:
            services.consent_withdraw(
                patient=request.user,
                scope=form.cleaned_data["scope"],
                registry=registry,
                via=ConsentVia.WEB,
            )
        except ValidationError as exc:
            for message in _validation_messages(exc):
                messages.error(request, message)
        else:
            messages.success(request, "Your consent is withdrawn. This takes effect now.")
    return redirect("consent:overview")


@never_cache
@patient_required
@require_GET
def consent_history(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "consent/history.html",
        {"events": selectors.consent_history(patient=request.user)},
    )


# --- Patient: sharing -------------------------------------------------------------------------


@never_cache
@patient_required
@require_http_methods(["GET", "POST"])
def share(request: HttpRequest) -> HttpResponse:
    form = ShareForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            grant, token = services.grant_create(
                patient=request.user,
                clinician_email=form.cleaned_data["clinician_email"],
                scopes=form.cleaned_data["scopes"],
                ends_on=form.cleaned_data["ends_on"],
                invitation_url_builder=lambda t: request.build_absolute_uri(
                    reverse("consent:invitation", args=[t])
                ),
            )
        except ValidationError as exc:
            _add_form_errors(form, exc)
        else:
            if token:
                return render(
                    request,
                    "consent/invitation_sent.html",
                    {
                        "grant": grant,
                        "link": request.build_absolute_uri(
                            reverse("consent:invitation", args=[token])
                        ),
                    },
                )
            messages.success(request, f"You are now sharing with {grant.clinician.short_name}.")
            return redirect("consent:overview")
    return render(request, "consent/share.html", {"form": form})


def _add_form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@never_cache
@patient_required
@require_POST
def grant_revoke(request: HttpRequest, grant_id: UUID) -> HttpResponse:
    try:
        with services.denial_logged(actor=request.user, request=request):
            services.grant_revoke(patient=request.user, grant_public_id=grant_id)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, "Sharing stopped. They can no longer see your diary.")
    return redirect("consent:overview")


@never_cache
@patient_required
@require_POST
def request_answer(request: HttpRequest, grant_id: UUID) -> HttpResponse:
    form = AnswerRequestForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return redirect("consent:overview")
    accept = form.cleaned_data["decision"] == "accept"
    try:
        with services.denial_logged(actor=request.user, request=request):
            services.grant_answer(
                patient=request.user,
                grant_public_id=grant_id,
                accept=accept,
                scopes=form.cleaned_data["scopes"] if accept else None,
                ends_on=form.cleaned_data["ends_on"],
            )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, "Request accepted." if accept else "Request declined.")
    return redirect("consent:overview")


@never_cache
@patient_required
@require_GET
def access_log(request: HttpRequest) -> HttpResponse:
    every = request.GET.get("all") == "1"
    return render(
        request,
        "consent/access_log.html",
        {
            "every": every,
            "lines": selectors.access_log_for_patient(patient=request.user) if every else None,
            "visits": None if every else selectors.access_visits_for_patient(patient=request.user),
        },
    )


# --- Clinician ---------------------------------------------------------------------------------


@never_cache
@clinician_required
@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "POST":
        try:
            with services.denial_logged(actor=request.user, request=request):
                services.invitation_claim(clinician=request.user, raw_token=token)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return redirect(CLINICIAN_HOME)
        messages.success(request, "Invitation accepted: the patient now appears in your list.")
        return redirect(CLINICIAN_HOME)
    with services.denial_logged(actor=request.user, request=request):
        if selectors.open_invitation(raw_token=token) is None:
            raise Http404("No such invitation.")  # a used, stopped or made-up link
    return render(
        request,
        "consent/invitation.html",
        {"token": token, "verified": selectors.clinician_is_verified(clinician=request.user)},
    )


@never_cache
@clinician_required
@require_http_methods(["GET", "POST"])
def clinician_request(request: HttpRequest) -> HttpResponse:
    form = AccessRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.grant_request(
                clinician=request.user,
                patient_email=form.cleaned_data["patient_email"],
                scopes=form.cleaned_data["scopes"],
            )
        except ValidationError as exc:
            _add_form_errors(form, exc)
        else:
            messages.success(
                request,
                "If this address belongs to a patient of My Sjögren's Diary, they will see your "
                "request the next time they sign in.",
            )
            return redirect(CLINICIAN_HOME)
    return render(request, "consent/clinician_request.html", {"form": form})
