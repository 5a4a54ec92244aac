"""Researcher pages: destinations, runs with live progress, downloads, backend clients,
withdrawal lists and the cohort. Everything goes through selectors that take the user: another
researcher's destination, run or client reads as 404, and the attempt is logged as denied."""

from __future__ import annotations

import logging
from functools import wraps
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role
from consent.models import AccessOutcome
from consent.services import access_log_record, access_log_record_many, denial_logged
from registry_export import archive, selectors, services
from registry_export.apis import stream_file
from registry_export.bulk import auth as bulk_auth
from registry_export.forms import ClientRegisterForm
from registry_export.models import RunTrigger

logger = logging.getLogger(__name__)
RUNS_PER_PAGE = 25


def researcher_required(view):
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if request.user.role != Role.RESEARCHER:
            raise PermissionDenied("Only researchers can use the registry export pages.")
        return view(request, *args, **kwargs)

    return wrapper


@require_GET
@researcher_required
def destination_list(request: HttpRequest) -> HttpResponse:
    destinations = list(selectors.destinations_for(user=request.user))
    rows = [
        {"destination": d, "runs": list(selectors.runs_for(user=request.user, destination=d)[:5])}
        for d in destinations
    ]
    return render(request, "registry_export/destination_list.html", {"rows": rows})


@require_POST
@researcher_required
def run_now(request: HttpRequest, destination_id) -> HttpResponse:
    with denial_logged(actor=request.user, request=request):
        destination = selectors.destination_for(user=request.user, destination_id=destination_id)
    try:
        run, created = services.export_run_request(
            destination=destination, trigger=RunTrigger.RESEARCHER, requested_by=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("registry_export:destination_list")
    if created:
        messages.success(request, f"Export run {run.label} of {destination.name} has been queued.")
    else:
        messages.info(request, f"Run {run.label} of {destination.name} is already under way.")
    return redirect("registry_export:run_detail", run_id=run.public_id)


@require_GET
@researcher_required
def run_detail(request: HttpRequest, run_id: UUID) -> HttpResponse:
    with denial_logged(actor=request.user, request=request):
        run = selectors.run_for(user=request.user, run_id=run_id)
    progress = selectors.run_progress(run=run)
    context = {
        "run": run,
        "progress": progress,
        "partitions": selectors.run_partitions(run=run),
    }
    return render(request, "registry_export/run_detail.html", context)


@require_GET
@researcher_required
def run_file(request: HttpRequest, run_id: UUID, name: str) -> HttpResponse:
    try:
        return stream_file(request=request, run_id=run_id, name=name)
    except (selectors.RunNotDownloadable, selectors.RunWithdrawn) as exc:
        return render(
            request,
            "registry_export/not_downloadable.html",
            {"message": str(exc.detail), "run_id": run_id},
            status=exc.status_code,
        )


@require_GET
@researcher_required
def cohort(request: HttpRequest) -> HttpResponse:
    return render(
        request, "registry_export/cohort.html", {"cohort": selectors.cohort_for(user=request.user)}
    )


# --- Runs ---------------------------------------------------------------------------------------


@require_GET
@researcher_required
def run_list(request: HttpRequest) -> HttpResponse:
    """Every run of the researcher's destinations with its state, partitions and error."""
    page = Paginator(selectors.runs_for(user=request.user), RUNS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "registry_export/run_list.html", {"page": page})


@require_POST
@researcher_required
def run_cancel(request: HttpRequest, run_id: UUID) -> HttpResponse:
    with denial_logged(actor=request.user, request=request):
        run = selectors.run_for(user=request.user, run_id=run_id)
    reason = f"Cancelled by researcher {request.user.short_name}."
    if services.export_run_cancel(run_id=run.pk, reason=reason):
        messages.success(request, f"Run {run.label} is cancelled and its files removed.")
    else:
        messages.error(
            request, f"Run {run.label} is not queued or running, so it cannot be cancelled."
        )
    return redirect("registry_export:run_detail", run_id=run.public_id)


@require_GET
@researcher_required
def run_zip(request: HttpRequest, run_id: UUID) -> HttpResponse:
    """The whole run (every file and manifest.json) as one zip, streamed as it is made."""
    what = f"registry export run {run_id} zip"
    try:
        run, members = selectors.run_zip_members(user=request.user, run_id=run_id)
    except (selectors.RunNotDownloadable, selectors.RunWithdrawn) as exc:
        access_log_record(
            actor=request.user,
            patient_id=None,
            what=what,
            outcome=AccessOutcome.DENIED,
            request=request,
            kind="file",
        )
        return render(
            request,
            "registry_export/not_downloadable.html",
            {"message": str(exc.detail), "run_id": run_id},
            status=exc.status_code,
        )
    except Exception:
        access_log_record(
            actor=request.user,
            patient_id=None,
            what=what,
            outcome=AccessOutcome.DENIED,
            request=request,
            kind="file",
        )
        raise
    # One row per patient in the run, as for a single file: each patient's log shows the export.
    access_log_record_many(
        actor=request.user,
        patient_ids=selectors.run_patient_ids(run=run) or [None],
        what=what,
        outcome=AccessOutcome.ALLOWED,
        request=request,
        kind="file",
    )
    # The zip holds withdrawals.csv: the registry's side has now fetched this run's list.
    services.export_withdrawals_fetched(run=run)
    folder = f"{slugify(run.destination.name) or 'export'}-run-{run.label}"
    response = StreamingHttpResponse(
        archive.iter_zip(members, folder=folder), content_type="application/zip"
    )
    response["Content-Disposition"] = f'attachment; filename="{folder}.zip"'
    return response


# --- Withdrawal lists ---------------------------------------------------------------------------


@require_GET
@researcher_required
def withdrawal_list(request: HttpRequest, destination_id) -> HttpResponse:
    with denial_logged(actor=request.user, request=request):
        destination = selectors.destination_for(user=request.user, destination_id=destination_id)
    rows = selectors.withdrawals_for(user=request.user, destination=destination)
    return render(
        request,
        "registry_export/withdrawal_list.html",
        {"destination": destination, "rows": rows},
    )


# --- Backend (Bulk Data) clients ----------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@researcher_required
def client_list(request: HttpRequest) -> HttpResponse:
    """The backend clients of the researcher's destinations, and a form to register one."""
    destinations = selectors.client_destinations_for(user=request.user)
    status = 200
    if request.method == "POST":
        form = ClientRegisterForm(request.POST, request.FILES, destinations=destinations)
        if form.is_valid():
            client = _register(request, form)
            if client is not None:
                messages.success(
                    request,
                    f"Backend client {client.name} is registered for {client.destination.name}. "
                    f"client_id: {client.client_id}",
                )
                return redirect("registry_export:client_list")
        if "destination" in form.errors and request.POST.get("destination"):
            # A destination id the researcher may not use: record the attempt.
            access_log_record(
                actor=request.user,
                patient_id=None,
                what=f"registry export client register for {request.POST['destination']}"[:300],
                outcome=AccessOutcome.DENIED,
                request=request,
            )
        status = 400
    else:
        form = ClientRegisterForm(destinations=destinations)
    context = {
        "form": form,
        "clients": selectors.clients_for(user=request.user),
        "can_register": destinations.exists(),
    }
    return render(request, "registry_export/client_list.html", context, status=status)


def _register(request: HttpRequest, form: ClientRegisterForm):
    try:
        client = bulk_auth.bulk_client_register(
            destination=form.cleaned_data["destination"],
            name=form.cleaned_data["name"],
            public_key=form.cleaned_data["public_key"],
        )
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        for field, field_errors in errors.items():
            form.add_error(field if field in form.fields else None, field_errors)
        return None
    logger.info(
        "bulk client registered client=%s destination=%s by=%s",
        client.client_id,
        client.destination_id,
        request.user.pk,
    )
    return client


@require_POST
@researcher_required
def client_revoke(request: HttpRequest, client_pk: UUID) -> HttpResponse:
    with denial_logged(actor=request.user, request=request):
        client = selectors.client_for(user=request.user, client_pk=client_pk)
    if bulk_auth.bulk_client_revoke(client=client):
        logger.info("bulk client revoked client=%s by=%s", client.client_id, request.user.pk)
        messages.success(
            request, f"Backend client {client.name} is revoked: its tokens no longer work."
        )
    else:
        messages.info(request, f"Backend client {client.name} was already revoked.")
    return redirect("registry_export:client_list")
