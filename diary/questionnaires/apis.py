"""Questionnaire API v1: list and answer instruments, read one response, see what is due.

Patients only, their own responses only (someone else's id answers 404). Errors are field-level:
an unknown instrument under "instrument", item problems under "answers" keyed by item.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from diary.apis import PERIOD_PARAMS, DiaryPagination, PatientApi, paginate, period_from_query
from diary.questionnaires import selectors, services
from diary.questionnaires.definitions import NOT_APPLICABLE, all_instruments
from diary.serializers import PeriodQuery


def _instrument_codes() -> list[str]:
    return list(all_instruments())


class QuestionnaireInput(serializers.Serializer):
    instrument = serializers.CharField(
        help_text="Instrument code (see /api/v1/questionnaires/instruments/)."
    )
    answers = serializers.JSONField(
        help_text=f'Object of item key to answer: a whole number, or "{NOT_APPLICABLE}" where an '
        "item allows 'not applicable' (OSDI items 6-12)."
    )

    def validate_instrument(self, value: str) -> str:
        if value not in all_instruments():
            known = ", ".join(_instrument_codes())
            raise serializers.ValidationError(f"Unknown instrument {value!r}; use one of {known}.")
        return value

    def validate_answers(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Send the answers as an object by item key.")
        return value


class InstrumentQuery(PeriodQuery):
    instrument = serializers.CharField(required=False)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        code = data.get("instrument")
        if code:
            if code not in all_instruments():
                raise serializers.ValidationError({"instrument": [f"Unknown instrument {code!r}."]})
            value["instrument"] = code
        return value


class QuestionnaireOutput(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.SerializerMethodField()
    instrument = serializers.CharField(source="instrument.code")
    answers = serializers.DictField()
    score = serializers.FloatField(allow_null=True)
    band = serializers.CharField(source="band.key", allow_null=True, default=None)
    acceptable_state = serializers.BooleanField(source="acceptable", allow_null=True)
    profile = serializers.CharField(allow_null=True)
    previous_score = serializers.FloatField(allow_null=True)
    change = serializers.CharField(allow_null=True)
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    completed_at = serializers.DateTimeField()

    def get_url(self, row) -> str:
        return reverse("diary_api:questionnaire_detail", args=[row.id])


class ItemOutput(serializers.Serializer):
    key = serializers.CharField()
    kind = serializers.CharField()
    text = serializers.CharField()
    section = serializers.CharField(allow_null=True)
    choices = serializers.SerializerMethodField()
    min_label = serializers.CharField()
    max_label = serializers.CharField()

    def get_choices(self, item) -> list[dict]:
        return [{"value": o.value, "label": o.label} for o in item.options]


class InstrumentOutput(serializers.Serializer):
    code = serializers.CharField(source="instrument.code")
    name = serializers.CharField(source="instrument.name")
    short_name = serializers.CharField(source="instrument.short_name")
    wording = serializers.CharField(source="instrument.wording")
    wording_notice = serializers.CharField(source="instrument.wording_notice")
    instructions = serializers.CharField(source="instrument.instructions")
    recall_days = serializers.IntegerField(source="instrument.recall_days")
    due_every_days = serializers.IntegerField(source="instrument.due_every_days")
    is_due = serializers.BooleanField()
    next_due = serializers.DateField()
    last_period_end = serializers.DateField(allow_null=True)
    items = ItemOutput(source="instrument.items", many=True)


def _detail_url(response_id) -> str:
    return reverse("diary_api:questionnaire_detail", args=[response_id])


class QuestionnaireListApi(PatientApi):
    pagination_class = DiaryPagination

    @extend_schema(
        parameters=[
            *PERIOD_PARAMS,
            OpenApiParameter("instrument", OpenApiTypes.STR, enum=["esspri", "osdi", "eq5d5l"]),
        ],
        responses=QuestionnaireOutput(many=True),
        description="Your scored responses, newest first, whose period ends in the range.",
    )
    def get(self, request):
        query, date_from, date_to = period_from_query(request, query_class=InstrumentQuery)
        rows = selectors.questionnaire_history(
            patient=request.user,
            date_from=date_from,
            date_to=date_to,
            instrument=query.get("instrument"),
        )
        return paginate(self, request, rows, QuestionnaireOutput)

    @extend_schema(request=QuestionnaireInput, responses={201: QuestionnaireOutput})
    def post(self, request):
        data = QuestionnaireInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            response = services.questionnaire_submit(
                patient=request.user,
                instrument=data.validated_data["instrument"],
                answers=data.validated_data["answers"],
            )
        except DjangoValidationError as exc:
            errors = exc.message_dict
            if "instrument" in errors:
                raise ValidationError({"instrument": errors["instrument"]}) from exc
            raise ValidationError({"answers": errors}) from exc
        row = selectors.questionnaire_row(patient=request.user, response_id=response.id)
        return Response(
            QuestionnaireOutput(row).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": _detail_url(response.id)},
        )


class QuestionnaireDetailApi(PatientApi):
    @extend_schema(responses=QuestionnaireOutput)
    def get(self, request, response_id):
        row = selectors.questionnaire_row(patient=request.user, response_id=response_id)
        if row is None:
            raise Http404("No such questionnaire response.")
        return Response(QuestionnaireOutput(row).data)


class InstrumentListApi(PatientApi):
    @extend_schema(
        responses=InstrumentOutput(many=True),
        description="Each instrument with its items, answer choices and when it is next due.",
    )
    def get(self, request):
        schedule = selectors.questionnaire_schedule(patient=request.user)
        return Response(InstrumentOutput(schedule, many=True).data)
