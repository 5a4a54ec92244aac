"""GET /api/v1/trends/?from=&to=: the daily series and 7-day rolling means as JSON (the twin of
the trends page, for apps that draw their own charts)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from diary import dates
from diary.apis import PERIOD_PARAMS, PatientApi, period_from_query
from diary.fields import SYMPTOM_NAMES
from diary.trends.frames import (
    ROLLING_DAYS,
    ROLLING_MIN_DAYS,
    daily_series,
    trend_frame,
    weekly_means_from_frame,
)
from diary.trends.summary import summarise

DEFAULT_DAYS = 30
# Ten years of days is far more than any chart needs and keeps one request's work bounded.
MAX_DAYS = dates.MAX_PERIOD_DAYS


def _day_fields() -> dict:
    fields = {"date": serializers.DateField(), "recorded": serializers.BooleanField()}
    fields["flare"] = serializers.BooleanField()
    for name in SYMPTOM_NAMES:
        fields[name] = serializers.IntegerField(allow_null=True)
        fields[f"{name}_7d"] = serializers.FloatField(allow_null=True)
    return fields


DayOutput = type("TrendDayOutput", (serializers.Serializer,), _day_fields())


class WeekOutput(serializers.Serializer):
    week_start = serializers.DateField()
    week_end = serializers.DateField()
    days_recorded = serializers.IntegerField()
    flare_days = serializers.IntegerField()
    means = serializers.DictField(child=serializers.FloatField(allow_null=True))


class SymptomSummaryOutput(serializers.Serializer):
    name = serializers.CharField()
    average = serializers.FloatField(allow_null=True)
    first_half = serializers.FloatField(allow_null=True)
    second_half = serializers.FloatField(allow_null=True)
    direction = serializers.CharField()


class TrendsOutput(serializers.Serializer):
    date_from = serializers.DateField(source="summary.date_from")
    date_to = serializers.DateField(source="summary.date_to")
    rolling_days = serializers.IntegerField()
    rolling_min_days = serializers.IntegerField()
    days_recorded = serializers.IntegerField(source="summary.days_recorded")
    flare_days = serializers.IntegerField(source="summary.flare_days")
    symptoms = SymptomSummaryOutput(source="summary.symptoms", many=True)
    days = DayOutput(many=True)
    weeks = WeekOutput(many=True)


class TrendsApi(PatientApi):
    @extend_schema(
        parameters=PERIOD_PARAMS,
        responses=TrendsOutput,
        description=f"Daily scores, {ROLLING_DAYS}-day rolling means (null unless "
        f"{ROLLING_MIN_DAYS} of the {ROLLING_DAYS} days have entries), weekly means and a "
        f"summary. Defaults to the last {DEFAULT_DAYS} days; at most {MAX_DAYS} days at once.",
    )
    def get(self, request):
        _, date_from, date_to = period_from_query(request, default_days=DEFAULT_DAYS)
        frame = trend_frame(patient=request.user, date_from=date_from, date_to=date_to)
        body = {
            "summary": summarise(frame, date_from=date_from, date_to=date_to),
            "rolling_days": ROLLING_DAYS,
            "rolling_min_days": ROLLING_MIN_DAYS,
            "days": daily_series(frame),
            "weeks": weekly_means_from_frame(frame),
        }
        return Response(TrendsOutput(body).data)
