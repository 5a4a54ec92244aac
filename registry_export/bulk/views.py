"""FHIR Bulk Data Access (IG v2.0.0) endpoints; thin: parse, call the auth or job module, answer.

Every refusal is an OperationOutcome (FHIR endpoints) or an OAuth error body (token endpoint)
with a 4xx status, and changes nothing.
"""

from __future__ import annotations

from functools import wraps

from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from registry_export.bulk import auth, jobs
from registry_export.bulk.jobs import BulkError

FHIR_JSON = "application/fhir+json"
NDJSON = "application/fhir+ndjson"


def outcome(status: int, text: str, code: str = "processing", severity: str = "error"):
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": text}],
    }
    return JsonResponse(body, status=status, content_type=FHIR_JSON)


def _log(request: HttpRequest, what: str, allowed: bool) -> None:
    from consent.services import access_log_record

    access_log_record(
        actor=None,
        patient_id=None,
        what=what[:300],
        outcome="allowed" if allowed else "denied",
        request=request,
        kind="api",
    )


def bearer_required(view):
    """The data endpoints need a valid access token; a refusal is logged."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        access = auth.access_for(authorization=request.headers.get("Authorization", ""))
        if access is None:
            _log(request, f"bulk data {request.method} {request.path}: no valid token", False)
            response = outcome(
                401, "A valid bearer access token is required (SMART Backend Services).", "login"
            )
            response["WWW-Authenticate"] = 'Bearer realm="fhir"'
            return response
        try:
            return view(request, access, *args, **kwargs)
        except BulkError as exc:
            _log(request, f"bulk client {access.client.client_id}: {exc.status} {exc}", False)
            response = outcome(exc.status, str(exc), exc.code)
            for header, value in exc.headers.items():
                response[header] = value
            return response

    return wrapper


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("bulk:metadata")).rsplit("/metadata", 1)[0]


def token_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("bulk:token"))


@require_GET
def metadata(request: HttpRequest) -> HttpResponse:
    return JsonResponse(jobs.capability_statement(base=_base(request)), content_type=FHIR_JSON)


@require_GET
def smart_configuration(request: HttpRequest) -> HttpResponse:
    return JsonResponse(
        {
            "token_endpoint": token_url(request),
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": auth.ALGORITHMS,
            "scopes_supported": ["system/*.read", "system/*.rs"]
            + [f"system/{t}.read" for t in auth.exported_types()],
            "capabilities": ["client-confidential-asymmetric", "permission-v1", "permission-v2"],
        }
    )


@csrf_exempt
@require_POST
def token(request: HttpRequest) -> HttpResponse:
    try:
        grant = auth.token_issue(form=request.POST, token_url=token_url(request))
    except auth.OAuthError as exc:
        _log(request, f"bulk token client {exc.client_id or '?'}: {exc.error}", False)
        response = JsonResponse(
            {"error": exc.error, "error_description": exc.description}, status=exc.status
        )
        response["Cache-Control"] = "no-store"
        return response
    _log(request, f"bulk token client {grant.client.client_id}: issued", True)
    response = JsonResponse(
        {
            "access_token": grant.access_token,
            "token_type": "bearer",
            "expires_in": grant.expires_in,
            "scope": grant.scope,
        }
    )
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
@require_http_methods(["GET", "POST"])
@bearer_required
def kickoff(request: HttpRequest, access: auth.Access, group: str) -> HttpResponse:
    jobs.check_kickoff_headers(request)
    if request.method == "POST":
        params = jobs.parameters_from_body(request.body)
    else:
        params = [(k, v) for k, values in request.GET.lists() for v in values]
    job = jobs.job_start(
        access=access, group=group, params=params, request_url=_request_url(request)
    )
    _log(request, f"bulk client {access.client.client_id}: export job {job.pk} started", True)
    response = HttpResponse(status=202)
    response["Content-Location"] = request.build_absolute_uri(reverse("bulk:status", args=[job.pk]))
    return response


def _request_url(request: HttpRequest) -> str:
    if request.method == "GET":
        return request.build_absolute_uri()
    return request.build_absolute_uri(request.path)


@csrf_exempt
@require_http_methods(["GET", "DELETE"])
@bearer_required
def status(request: HttpRequest, access: auth.Access, job_id) -> HttpResponse:
    job = jobs.job_for(access=access, job_id=job_id)
    if request.method == "DELETE":
        jobs.job_cancel(job=job)
        _log(request, f"bulk client {access.client.client_id}: export job {job.pk} cancelled", True)
        return outcome(
            202,
            f"Export job {job.pk} is cancelled and its files removed.",
            "informational",
            "information",
        )
    state = jobs.job_state(job=job)
    if state.running:
        response = HttpResponse(status=202)
        response["X-Progress"] = state.progress
        response["Retry-After"] = str(jobs.RETRY_AFTER_SECONDS)
        return response
    if state.failed:
        return outcome(500, state.error, "exception")
    body = jobs.manifest(
        job=job,
        file_url=lambda name: request.build_absolute_uri(reverse("bulk:file", args=[job.pk, name])),
    )
    return JsonResponse(body, json_dumps_params={"indent": None})


@require_GET
@bearer_required
def download(request: HttpRequest, access: auth.Access, job_id, name: str) -> HttpResponse:
    accept = request.headers.get("Accept", "")
    if accept and not any(
        t.strip().split(";")[0] in (NDJSON, "application/ndjson", "*/*", "application/*")
        for t in accept.split(",")
    ):
        raise BulkError(406, f"Files are served as {NDJSON}; the Accept header asks otherwise.")
    job = jobs.job_for(access=access, job_id=job_id)
    path, patient_ids = jobs.job_file(job=job, name=name)
    from consent.services import access_log_record_many

    access_log_record_many(
        actor=None,
        patient_ids=patient_ids or [None],
        what=f"bulk client {access.client.client_id} job {job.pk} file {name}"[:300],
        outcome="allowed",
        request=request,
        kind="file",
    )
    # FileResponse streams the file in blocks: a large export never sits in memory.
    response = FileResponse(open(path, "rb"))  # noqa: SIM115
    response["Content-Type"] = NDJSON
    return response
