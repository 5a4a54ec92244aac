"""Researcher pages: destinations, runs with live progress, downloads and the cohort."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Role
from registry_export import selectors, services
from registry_export.apis import stream_file
from registry_export.models import RunTrigger


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
    destination = selectors.destination_for(user=request.user, destination_id=destination_id)
    try:
        run, created = services.export_run_request(
            destination=destination, trigger=RunTrigger.RESEARCHER, requested_by=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("registry_export:destination_list")
    if created:
        messages.success(request, f"Export run {run.pk} of {destination.name} has been queued.")
    else:
        messages.info(request, f"Run {run.pk} of {destination.name} is already under way.")
    return redirect("registry_export:run_detail", run_id=run.pk)


@require_GET
@researcher_required
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = selectors.run_for(user=request.user, run_id=run_id)
    progress = selectors.run_progress(run=run)
    return render(request, "registry_export/run_detail.html", {"run": run, "progress": progress})


@require_GET
@researcher_required
def run_file(request: HttpRequest, run_id: int, name: str) -> HttpResponse:
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
