"""Diary API v1: entries, medicines, doses, self-export and erasure. Patients only; a patient
reaches only their own records (someone else's id or date is indistinguishable from none: 404).
"""

from __future__ import annotations

import logging
from datetime import date

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_pagination import StrictPageNumberPagination
from accounts.api_schema import error_response
from accounts.permissions import IsPatient, TwoFactorSatisfied
from diary import dates, selectors, services
from diary.models import Medicine
from diary.serializers import (
    AccountDeleteInput,
    AdherenceOutput,
    DoseInput,
    DoseOutput,
    EntryConflictOutput,
    EntryCreateInput,
    EntryInput,
    EntryOutput,
    EntryPatchInput,
    MedicineInput,
    MedicineOutput,
    MedicinePatchInput,
    PeriodQuery,
    PreconditionFailedOutput,
)
from diary.views_account import export_response, password_confirms

logger = logging.getLogger(__name__)

PERIOD_PARAMS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="first day (inclusive)"),
    OpenApiParameter("to", OpenApiTypes.DATE, description="last day (inclusive)"),
]


class DiaryPagination(StrictPageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class PatientApi(APIView):
    permission_classes = [IsAuthenticated, TwoFactorSatisfied, IsPatient]


def service_call(func, **kwargs):
    """Run a service; its Django ValidationError becomes a field-level 400."""
    try:
        return func(**kwargs)
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict) from exc


def period_from_query(request, *, default_days: int | None = None, query_class=PeriodQuery):
    """`?from=&to=` parsed and checked against the patient's date window (diary/dates.py):
    (validated query, start, end); a start or end left out is None unless default_days."""
    query = query_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    date_from, date_to = service_call(
        dates.resolve_period,
        patient=request.user,
        date_from=query.validated_data.get("date_from"),
        date_to=query.validated_data.get("date_to"),
        default_days=default_days,
    )
    return query.validated_data, date_from, date_to


def paginate(view: APIView, request, items: list, serializer):
    # The view's pagination_class is what the OpenAPI schema documents (drf-spectacular).
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(items, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


def entry_url(day: date) -> str:
    return reverse("diary_api:entry_detail", args=[day])


class EntryListApi(PatientApi):
    pagination_class = DiaryPagination

    @extend_schema(parameters=PERIOD_PARAMS, responses=EntryOutput(many=True))
    def get(self, request):
        _, date_from, date_to = period_from_query(request)
        entries = selectors.entries_between(
            patient=request.user, date_from=date_from, date_to=date_to
        )
        return paginate(self, request, entries, EntryOutput)

    @extend_schema(
        request=EntryCreateInput,
        responses={201: EntryOutput, 409: EntryConflictOutput},
        description="Create the entry for a day. A second entry for the same day answers 409 "
        "with the URL of the existing one (PUT or PATCH it instead).",
    )
    def post(self, request):
        data = EntryCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        day = values.pop("date")
        try:
            service_call(
                services.entry_save,
                patient=request.user,
                entry_date=day,
                values=values,
                create_only=True,
            )
        except services.EntryAlreadyExists:
            body = {
                "detail": "There is already an entry for this day.",
                "date": day,
                "existing": entry_url(day),
            }
            return Response(
                EntryConflictOutput(body).data,
                status=status.HTTP_409_CONFLICT,
                headers={"Location": entry_url(day)},
            )
        entry = selectors.entry_on(patient=request.user, day=day)
        return Response(
            EntryOutput(entry).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": entry_url(day)},
        )


DAY_SAVE_HEADERS = [
    OpenApiParameter(
        "Idempotency-Key",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description="A client-made unique key (e.g. a UUID, at most 64 characters). A request "
        "with a key already applied for you in the last 30 days changes nothing.",
    ),
    OpenApiParameter(
        "If-Match",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description="The day's version from a GET's ETag; the save is refused with 412 when "
        "the day has changed since.",
    ),
]


def _etag(request, day: date, version: str | None = None) -> dict:
    """The ETag header: the version a save just returned, or the day's current one."""
    if version is None:
        version = selectors.day_version(patient=request.user, day=day)
    return {"ETag": f'"{version}"'} if version else {}


def _if_match(request) -> str | None:
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    value = raw.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"')


def _precondition_failed(version: str) -> Response:
    body = {
        "detail": "The day has changed since you read it; nothing was saved.",
        "version": version,
    }
    headers = {"ETag": f'"{version}"'} if version else {}
    return Response(
        PreconditionFailedOutput(body).data,
        status=status.HTTP_412_PRECONDITION_FAILED,
        headers=headers,
    )


class EntryDetailApi(PatientApi):
    def _get(self, request, day: date):
        entry = selectors.entry_on(patient=request.user, day=day)
        if entry is None:
            raise Http404("No entry for this day.")
        return entry

    @extend_schema(
        responses=EntryOutput,
        description="The entry for a day. The ETag header is the day's version (its entry and "
        "dose answers): send it back as If-Match to update only what you read.",
    )
    def get(self, request, day: date):
        entry = self._get(request, day)
        return Response(EntryOutput(entry).data, headers=_etag(request, day))

    @extend_schema(
        request=EntryInput,
        parameters=DAY_SAVE_HEADERS,
        responses={
            200: EntryOutput,
            201: EntryOutput,
            412: OpenApiResponse(
                PreconditionFailedOutput,
                description="If-Match did not match the day's current version (nothing saved).",
            ),
        },
        description="Replace the day (or fill it in if it is empty). With Idempotency-Key a "
        "retried request is applied once (the repeat answers 200 with the entry and "
        "Idempotent-Replayed: true). With If-Match the save happens only if the day is still at "
        "that version (the ETag of a GET, quoted or not; * = the day exists), else 412 with the "
        "current version.",
    )
    def put(self, request, day: date):
        """Replace the day (or fill it in if it is empty)."""
        data = EntryInput(data=request.data)
        data.is_valid(raise_exception=True)
        if_match = _if_match(request)
        if if_match == "*":
            if not selectors.entry_exists(patient=request.user, day=day):
                return _precondition_failed(selectors.day_version(patient=request.user, day=day))
            if_match = None
        try:
            saved = service_call(
                services.day_save,
                patient=request.user,
                entry_date=day,
                values=dict(data.validated_data),
                idempotency_key=request.headers.get("Idempotency-Key", "").strip(),
                if_match=if_match,
            )
        except services.VersionMismatch as exc:
            return _precondition_failed(exc.version)
        # The answer is the entry as this save stored it; a replayed key reads the day.
        entry = saved.entry or selectors.entry_on(patient=request.user, day=saved.date)
        if entry is None:  # a replayed key whose day was deleted since
            raise Http404("No entry for this day.")
        headers = _etag(request, saved.date, saved.version)
        if saved.status == "duplicate":
            headers["Idempotent-Replayed"] = "true"
            return Response(EntryOutput(entry).data, status=200, headers=headers)
        return Response(
            EntryOutput(entry).data, status=201 if saved.created else 200, headers=headers
        )

    @extend_schema(request=EntryPatchInput, responses=EntryOutput)
    def patch(self, request, day: date):
        existing = self._get(request, day)
        data = EntryPatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = {**existing.values(), **data.validated_data}
        service_call(services.entry_save, patient=request.user, entry_date=day, values=values)
        return Response(EntryOutput(selectors.entry_on(patient=request.user, day=day)).data)

    @extend_schema(responses={204: OpenApiResponse(description="deleted")})
    def delete(self, request, day: date):
        if not services.entry_delete(patient=request.user, entry_date=day):
            raise Http404("No entry for this day.")
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Medicines ------------------------------------------------------------------------------
def _own_medicine(request, medicine_id):
    medicine = selectors.medicine_get(patient=request.user, medicine_id=medicine_id)
    if medicine is None:
        raise Http404("No such medicine.")
    return medicine


class MedicineListApi(PatientApi):
    pagination_class = DiaryPagination

    @extend_schema(responses=MedicineOutput(many=True))
    def get(self, request):
        return paginate(
            self, request, selectors.medicines_for(patient=request.user), MedicineOutput
        )

    @extend_schema(request=MedicineInput, responses={201: MedicineOutput})
    def post(self, request):
        data = MedicineInput(data=request.data)
        data.is_valid(raise_exception=True)
        medicine = service_call(services.medicine_add, patient=request.user, **data.validated_data)
        view = selectors.medicine_get(patient=request.user, medicine_id=medicine.id)
        return Response(MedicineOutput(view).data, status=status.HTTP_201_CREATED)


class MedicineDetailApi(PatientApi):
    @extend_schema(responses=MedicineOutput)
    def get(self, request, medicine_id):
        return Response(MedicineOutput(_own_medicine(request, medicine_id)).data)

    @extend_schema(request=MedicinePatchInput, responses=MedicineOutput)
    def patch(self, request, medicine_id):
        current = _own_medicine(request, medicine_id)
        data = MedicinePatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        changes = data.validated_data
        with transaction.atomic():  # a dose change and a stop together, or neither
            if {"dose", "unit", "schedule", "times"} & changes.keys():
                service_call(
                    services.medicine_update,
                    patient=request.user,
                    medicine_id=current.id,
                    dose=changes.get("dose", current.dose),
                    unit=changes.get("unit", current.unit),
                    schedule=changes.get("schedule", current.schedule),
                    effective=changes.get("effective"),
                    times=changes.get("times"),
                )
            if "end_date" in changes:
                service_call(
                    services.medicine_stop,
                    patient=request.user,
                    medicine_id=current.id,
                    end_date=changes["end_date"],
                )
        return Response(MedicineOutput(_own_medicine(request, medicine_id)).data)

    @extend_schema(responses={204: OpenApiResponse(description="deleted")})
    def delete(self, request, medicine_id):
        current = _own_medicine(request, medicine_id)
        services.medicine_delete(patient=request.user, medicine_id=current.id)
        return Response(status=status.HTTP_204_NO_CONTENT)


ADHERENCE_DEFAULT_DAYS = 30


class AdherenceApi(PatientApi):
    @extend_schema(
        parameters=PERIOD_PARAMS,
        responses=AdherenceOutput(many=True),
        description="Per medicine, doses due by its schedule in the period (default: the last "
        f"{ADHERENCE_DEFAULT_DAYS} days; at most {dates.MAX_PERIOD_DAYS} days, from the first "
        "day the diary can hold) and how many were taken, missed, skipped or not recorded.",
    )
    def get(self, request):
        _, date_from, date_to = period_from_query(request, default_days=ADHERENCE_DEFAULT_DAYS)
        rows = selectors.adherence(patient=request.user, date_from=date_from, date_to=date_to)
        return Response(AdherenceOutput(rows, many=True).data)


# --- Doses ----------------------------------------------------------------------------------
class DoseListApi(PatientApi):
    pagination_class = DiaryPagination

    @extend_schema(parameters=PERIOD_PARAMS, responses=DoseOutput(many=True))
    def get(self, request):
        _, date_from, date_to = period_from_query(request)
        logs = selectors.dose_logs_between(
            patient=request.user, date_from=date_from or date.min, date_to=date_to or date.max
        )
        return paginate(self, request, list(logs), DoseOutput)

    @extend_schema(
        request=DoseInput,
        responses={
            201: DoseOutput,
            404: error_response(404, "No medicine with this id in your list."),
        },
        description="Record a scheduled dose as taken, missed or skipped (replaces an earlier "
        "answer for the same medicine, day and slot). Someone else's medicine answers 404.",
    )
    def post(self, request):
        data = DoseInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            log = service_call(
                services.dose_log_set,
                patient=request.user,
                medicine_id=values["medicine"],
                day=values["date"],
                status=values["status"],
                slot=values["slot"],
            )
        except Medicine.DoesNotExist:
            message = "No medicine with this id in your list."
            return Response(
                {"detail": message, "medicine": [message]}, status=status.HTTP_404_NOT_FOUND
            )
        return Response(DoseOutput(log).data, status=status.HTTP_201_CREATED)


# --- Me: export and erasure -----------------------------------------------------------------
class MeExportApi(PatientApi):
    @extend_schema(
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
        description="All my data: a zip of JSON, CSV and a FHIR R4 Bundle.",
    )
    def get(self, request):
        logger.info("self export (api) patient=%s", request.user.pk)
        return export_response(request.user)


class MeApi(PatientApi):
    @extend_schema(
        request=AccountDeleteInput,
        responses={204: OpenApiResponse(description="erased")},
        description="Delete my account: the data key is destroyed first (crypto-shredding), "
        "then every record and the account. The password must be sent again.",
    )
    def delete(self, request):
        data = AccountDeleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        if not password_confirms(request._request, request.user, data.validated_data["password"]):
            raise ValidationError({"password": ["That password is not right."]})
        services.patient_erase(patient=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
