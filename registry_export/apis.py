"""REST API of the registry export (researchers with verified two-factor only)."""

from __future__ import annotations

from uuid import UUID

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role
from accounts.permissions import TwoFactorSatisfied
from registry_export import selectors, services
from registry_export.models import Destination, ExportRun, RunTrigger


class IsResearcher(BasePermission):
    message = "Only researchers can use the registry export."

    def has_permission(self, request, view) -> bool:
        return bool(
            request.user and request.user.is_authenticated and request.user.role == Role.RESEARCHER
        )


class ExportApi(APIView):
    permission_classes = [IsAuthenticated, TwoFactorSatisfied, IsResearcher]


# --- Serializers ----------------------------------------------------------------------------


class DestinationOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    formats = serializers.ListField(child=serializers.CharField())
    consent_scope = serializers.CharField()
    mode = serializers.CharField()


class ProgressOutput(serializers.Serializer):
    rows_done = serializers.IntegerField()
    rows_total = serializers.IntegerField()
    percent = serializers.IntegerField()


class RunFileOutput(serializers.Serializer):
    name = serializers.CharField()
    format = serializers.CharField()
    count = serializers.IntegerField()
    bytes = serializers.IntegerField()
    sha256 = serializers.CharField()
    url = serializers.CharField()


class RunOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    destination = serializers.UUIDField(source="destination_id")
    destination_name = serializers.CharField(source="destination.name")
    status = serializers.CharField()
    full = serializers.BooleanField()
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    consent_snapshot_at = serializers.DateTimeField()
    trigger = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    patients = serializers.IntegerField(source="patients_total")
    withdrawals = serializers.IntegerField(source="withdrawals_total")
    progress = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()
    error = serializers.CharField()

    def get_progress(self, run: ExportRun) -> dict:
        p = selectors.run_progress(run=run)
        return {"rows_done": p.rows_done, "rows_total": p.rows_total, "percent": p.percent}

    def get_files(self, run: ExportRun) -> list[dict]:
        request = self.context.get("request")
        out = []
        for f in run.files:
            url = reverse("api_export_run_file", args=[run.public_id, f["name"]])
            out.append(
                {
                    "name": f["name"],
                    "format": f["format"],
                    "count": f["count"],
                    "bytes": f["bytes"],
                    "sha256": f["sha256"],
                    "url": request.build_absolute_uri(url) if request else url,
                }
            )
        return out


class RunStartInput(serializers.Serializer):
    destination = serializers.UUIDField()
    full = serializers.BooleanField(required=False, allow_null=True, default=None)


# --- Views ----------------------------------------------------------------------------------


def destination_data(d: Destination) -> dict:
    return {
        "id": d.pk,
        "name": d.name,
        "description": d.description,
        "formats": d.formats,
        "consent_scope": d.consent_scope,
        "mode": d.mode,
    }


class DestinationListApi(ExportApi):
    @extend_schema(responses={200: DestinationOutput(many=True)})
    def get(self, request):
        rows = [destination_data(d) for d in selectors.destinations_for(user=request.user)]
        return Response(DestinationOutput(rows, many=True).data)


class RunListApi(ExportApi):
    @extend_schema(responses={200: RunOutput(many=True)})
    def get(self, request):
        destination = None
        if request.query_params.get("destination"):
            destination = selectors.destination_for(
                user=request.user, destination_id=request.query_params["destination"]
            )
        runs = selectors.runs_for(user=request.user, destination=destination)[:100]
        return Response(RunOutput(runs, many=True, context={"request": request}).data)

    @extend_schema(request=RunStartInput, responses={202: RunOutput, 200: RunOutput})
    def post(self, request):
        data = RunStartInput(data=request.data)
        data.is_valid(raise_exception=True)
        destination = selectors.destination_for(
            user=request.user, destination_id=data.validated_data["destination"]
        )
        try:
            run, created = services.export_run_request(
                destination=destination,
                trigger=RunTrigger.RESEARCHER,
                requested_by=request.user,
                full=data.validated_data["full"],
            )
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        body = RunOutput(run, context={"request": request}).data
        # 202: the run was queued now; 200: one was already waiting or running (no new run).
        return Response(body, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


class RunDetailApi(ExportApi):
    @extend_schema(responses={200: RunOutput})
    def get(self, request, run_id: UUID):
        run = selectors.run_for(user=request.user, run_id=run_id)
        return Response(RunOutput(run, context={"request": request}).data)


def stream_file(*, request, run_id: UUID, name: str) -> FileResponse:
    """Stream one file of a finished run and record the download in the access log."""
    from consent.services import access_log_record, access_log_record_many

    what = f"registry export run {run_id} file {name}"[:300]
    try:
        run, path = selectors.run_file(user=request.user, run_id=run_id, name=name)
    except Exception:
        access_log_record(
            actor=request.user,
            patient_id=None,
            what=what,
            outcome="denied",
            request=request,
            kind="file",
        )
        raise
    # One row per patient in the file: each patient's own access log then shows who took it.
    access_log_record_many(
        actor=request.user,
        patient_ids=selectors.run_patient_ids(run=run) or [None],
        what=what,
        outcome="allowed",
        request=request,
        kind="file",
    )
    content_type = {
        ".ndjson": "application/fhir+ndjson",
        ".csv": "text/csv; charset=utf-8",
        ".json": "application/json",
    }.get(path.suffix, "application/octet-stream")
    # FileResponse streams the file in blocks: a large export never sits in memory.
    if name == services.WITHDRAWALS_FILE:
        services.export_withdrawals_fetched(run=run)
    response = FileResponse(open(path, "rb"), as_attachment=True, filename=name)  # noqa: SIM115
    response["Content-Type"] = content_type
    response["X-Content-SHA256"] = next(f["sha256"] for f in run.files if f["name"] == name)
    return response


class RunFileApi(ExportApi):
    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, run_id: UUID, name: str):
        return stream_file(request=request._request, run_id=run_id, name=name)
