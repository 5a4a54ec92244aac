"""API v1 of the clinic: the clinician's patient list and the pre-appointment summary.

The same selectors as the pages, so the page and its API twin cannot differ. The routes keep the
names and paths they had when they lived in consent/ (api_patients, api_patient_summary).
"""

from __future__ import annotations

from uuid import UUID

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors as account_selectors
from clinic import selectors, summary
from clinic.forms import MAX_PERIOD_DAYS
from consent import selectors as consent_selectors
from consent.apis import ClinicianOnly, _paginate
from consent.models import ShareScope as Scope
from diary import dates

# --- Clinician: patients and summary -----------------------------------------------------------


class PatientRowOutput(serializers.Serializer):
    patient_id = serializers.UUIDField(source="patient_public_id")
    name = serializers.CharField()
    email = serializers.EmailField()
    scopes = serializers.ListField(child=serializers.CharField())
    ends_at = serializers.DateTimeField(allow_null=True)
    last_entry = serializers.DateField(allow_null=True)
    no_entry_flag = serializers.BooleanField()
    esspri = serializers.FloatField(allow_null=True)
    esspri_change = serializers.FloatField(allow_null=True)
    esspri_worsened = serializers.BooleanField()
    entries_in_period = serializers.IntegerField(allow_null=True)
    missing_days = serializers.IntegerField(allow_null=True)
    flares_in_period = serializers.IntegerField(allow_null=True)
    flares_30d = serializers.IntegerField(
        source="flares_in_period",
        allow_null=True,
        help_text="Deprecated name of flares_in_period (the default period is 30 days).",
    )
    flare_this_week = serializers.BooleanField()
    imaging_waiting = serializers.IntegerField(allow_null=True)
    flags = serializers.ListField(child=serializers.CharField())


class PatientListApi(APIView):
    """Patients who share with me now (each listed patient's read is logged)."""

    permission_classes = [*APIView.permission_classes, ClinicianOnly]

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, description="YYYY-MM-DD (default: 29 days ago)"),
            OpenApiParameter("to", str, description="YYYY-MM-DD (default: today)"),
            OpenApiParameter("q", str, description="Search by name or e-mail"),
            OpenApiParameter("sort", str, enum=list(selectors.SORTS)),
        ],
        responses={200: PatientRowOutput(many=True)},
    )
    def get(self, request):
        query = _period(request, selectors.default_list_period())
        if not ({"from", "to"} & set(request.query_params)):
            query = {"date_from": None, "date_to": None}  # each patient's own last 30 days
        sort = request.query_params.get("sort") or "name"
        if sort not in selectors.SORTS:
            raise ValidationError({"sort": [f"Choose one of: {', '.join(selectors.SORTS)}."]})
        rows = selectors.patient_rows(
            clinician=request.user,
            request=request._request,
            date_from=query["date_from"],
            date_to=query["date_to"],
            search=request.query_params.get("q", "")[:100],
            sort=sort,
        )
        return _paginate(self, request, rows, PatientRowOutput)


class SummaryQuery(serializers.Serializer):
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)

    def validate(self, attrs):
        start, end = self.context["default"]
        attrs.setdefault("date_from", start)
        attrs.setdefault("date_to", end)
        for field, name in (("date_from", "from"), ("date_to", "to")):
            if problem := dates.outside_any_window(attrs[field]):
                raise ValidationError({name: [problem]})
        if attrs["date_from"] > attrs["date_to"]:
            raise ValidationError(
                {"from": ["The period is reversed: the start must be on or before the end."]}
            )
        if (attrs["date_to"] - attrs["date_from"]).days > MAX_PERIOD_DAYS:
            raise ValidationError({"from": ["Choose a period of at most five years."]})
        return attrs


def _query(request, default) -> SummaryQuery:
    return SummaryQuery(
        data={
            k: v
            for k, v in {
                "date_from": request.query_params.get("from"),
                "date_to": request.query_params.get("to"),
            }.items()
            if v
        },
        context={"default": default},
    )


def _errors(query: SummaryQuery) -> dict:
    return {
        ("from" if k == "date_from" else "to" if k == "date_to" else k): v
        for k, v in query.errors.items()
    }


def _period(request, default) -> dict:
    query = _query(request, default)
    if not query.is_valid():
        raise ValidationError(_errors(query))
    return query.validated_data


class SummaryWeekOutput(serializers.Serializer):
    week_start = serializers.DateField()
    entries = serializers.IntegerField()
    means = serializers.DictField(child=serializers.FloatField(allow_null=True))
    flares = serializers.IntegerField()


class SummaryMedicineOutput(serializers.Serializer):
    name = serializers.CharField()
    dose = serializers.CharField()
    unit = serializers.CharField()
    schedule = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField(allow_null=True)
    changes_in_period = serializers.ListField(child=serializers.CharField())
    expected = serializers.IntegerField(allow_null=True)
    taken = serializers.IntegerField(allow_null=True)
    percent = serializers.FloatField(allow_null=True)


class SummaryQuestionnaireOutput(serializers.Serializer):
    instrument = serializers.CharField()
    period_end = serializers.DateField()
    score = serializers.FloatField(allow_null=True)
    band = serializers.CharField(allow_null=True)
    acceptable = serializers.BooleanField(allow_null=True)
    change = serializers.CharField(allow_null=True)


class SummaryImagingJointOutput(serializers.Serializer):
    joint = serializers.CharField()
    jsn = serializers.IntegerField(allow_null=True)
    erosion = serializers.IntegerField(allow_null=True)
    source = serializers.CharField()


class SummaryImagingOutput(serializers.Serializer):
    study_id = serializers.CharField()
    uploaded_on = serializers.DateField()
    body_part = serializers.CharField()
    status = serializers.CharField(allow_null=True)
    status_label = serializers.CharField()
    confidence = serializers.FloatField(allow_null=True)
    ra_probability = serializers.FloatField(allow_null=True)
    ra_needs_review = serializers.BooleanField(allow_null=True)
    joints_confirmed = serializers.IntegerField()
    joints = SummaryImagingJointOutput(many=True)


class SummaryOutput(serializers.Serializer):
    patient_id = serializers.UUIDField(source="patient_public_id")
    patient_name = serializers.CharField()
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    scopes = serializers.ListField(child=serializers.CharField())
    entry_count = serializers.IntegerField()
    days_in_period = serializers.IntegerField()
    period_means = serializers.DictField(child=serializers.FloatField(allow_null=True))
    weeks = SummaryWeekOutput(many=True)
    flare_dates = serializers.ListField(child=serializers.DateField())
    medicines = SummaryMedicineOutput(many=True, allow_null=True)
    questionnaires = SummaryQuestionnaireOutput(many=True, allow_null=True)
    imaging = SummaryImagingOutput(
        many=True,
        allow_null=True,
        help_text="Latest studies, newest first; null when the grant does not cover imaging.",
    )


class PatientSummaryApi(APIView):
    """The pre-appointment summary: the same selector as the page, so they cannot differ."""

    @extend_schema(
        parameters=[
            OpenApiParameter("from", str, description="YYYY-MM-DD (default: 90 days ago)"),
            OpenApiParameter("to", str, description="YYYY-MM-DD (default: today)"),
        ],
        responses={200: SummaryOutput},
    )
    def get(self, request, patient: UUID):
        # The path names the patient by public id; unknown is refused as no grant (404).
        patient_id = account_selectors.user_pk(public_id=patient)
        query = _query(request, summary.default_period())
        if not query.is_valid():
            # Access first: anyone without a grant gets the 404 (and a denied row), not a 400.
            if not consent_selectors.can_see(
                clinician=request.user, patient_id=patient_id, scope=Scope.DIARY
            ):
                consent_selectors.grant_for_read(
                    clinician=request.user,
                    patient_id=patient_id,
                    scope=Scope.DIARY,
                    request=request._request,
                )
            raise ValidationError(_errors(query))
        report = summary.clinician_summary(
            clinician=request.user,
            patient_id=patient_id,
            date_from=query.validated_data["date_from"],
            date_to=query.validated_data["date_to"],
            request=request._request,
        )
        return Response(SummaryOutput(report).data)
