"""Staff pages for clinician accounts: create one, then verify it once the register entry has
been checked. Thin views over consent.services / consent.selectors; the admin has the same
actions, these pages are the accessible, guided way."""

from __future__ import annotations

from functools import wraps
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role, User
from accounts.services import password_setup_send
from consent import selectors, services
from consent.forms import ClinicianOnboardForm, ClinicianVerifyForm
from consent.models import AccessOutcome


def staff_required(*perms: str):
    """Anonymous: to sign-in. Not staff, or staff without the permissions: 403, logged as a
    denied authorisation."""

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if user.role != Role.STAFF or not user.has_perms(perms):
                services.access_log_record(
                    actor=user, patient_id=None, outcome=AccessOutcome.DENIED, request=request
                )
                return render(request, "403.html", status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _list_page(request: HttpRequest, *, verify_errors=None, status: int = 200) -> HttpResponse:
    clinicians = selectors.clinicians_for_staff(user=request.user)
    return render(
        request,
        "consent/staff_clinicians.html",
        {
            "clinicians": clinicians,
            "verify_form": ClinicianVerifyForm(),
            "verify_errors": verify_errors or {},
        },
        status=status,
    )


@never_cache
@staff_required("consent.view_clinicianprofile")
@require_GET
def clinicians(request: HttpRequest) -> HttpResponse:
    return _list_page(request)


@never_cache
@staff_required(*services.STAFF_ONBOARD_PERMISSIONS)
@require_http_methods(["GET", "POST"])
def clinician_new(request: HttpRequest) -> HttpResponse:
    form = ClinicianOnboardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            profile = services.clinician_onboard(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        except PermissionDenied:
            return render(request, "403.html", status=403)
        else:
            password_setup_send(request=request, user=profile.user)
            messages.success(
                request,
                f"Created {profile.user.email}: they have an e-mail to choose a password. "
                "Verify them once you have checked their register entry.",
            )
            return redirect(
                f"{reverse('consent:staff_clinicians')}#clinician-{profile.user.public_id}"
            )
    status = 400 if request.method == "POST" else 200
    return render(request, "consent/staff_clinician_new.html", {"form": form}, status=status)


@never_cache
@staff_required("consent.view_clinicianprofile", "consent.change_clinicianprofile")
@require_POST
def clinician_verify(request: HttpRequest, user_id: UUID) -> HttpResponse:
    clinician = User.objects.filter(public_id=user_id, role=Role.CLINICIAN).first()
    if clinician is None:
        raise Http404("No such clinician.")
    form = ClinicianVerifyForm(request.POST)
    if not form.is_valid():
        return _list_page(
            request, verify_errors={clinician.public_id: form.errors["checked"]}, status=400
        )
    if not clinician.is_active:
        messages.error(request, f"{clinician.email} is switched off: switch them on first.")
        return _list_page(request, status=400)
    services.clinician_verify(clinician=clinician, by=request.user)
    messages.success(request, f"Verified {clinician.email}.")
    return redirect(f"{reverse('consent:staff_clinicians')}#clinician-{clinician.public_id}")
