"""Reminder API: the patient's settings and their browsers' Web Push subscriptions."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsPatient, TwoFactorSatisfied
from accounts.profile import time_zone_names
from reminders import selectors, services
from reminders.forms import TIME_FORMAT_MESSAGE, parse_clock, time_zone_message
from reminders.models import DAY_NAMES


class ClockSerializerField(serializers.CharField):
    default_error_messages = {"time_format": TIME_FORMAT_MESSAGE}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("time_format")
        try:
            return parse_clock(data)
        except Exception:  # noqa: BLE001 - any parse failure is the same message
            self.fail("time_format")

    def to_representation(self, value):
        return value.strftime("%H:%M") if value else None


class SettingsInput(serializers.Serializer):
    enabled = serializers.BooleanField()
    time = ClockSerializerField()
    days = serializers.ListField(child=serializers.ChoiceField(choices=DAY_NAMES), max_length=7)
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=["email", "push"]), max_length=2
    )
    quiet_start = ClockSerializerField(required=False, allow_null=True)
    quiet_end = ClockSerializerField(required=False, allow_null=True)
    time_zone = serializers.CharField(required=False, max_length=64)

    def validate_time_zone(self, value):
        if value not in time_zone_names():
            raise serializers.ValidationError(time_zone_message(value))
        return value


class SettingsOutput(serializers.Serializer):
    enabled = serializers.BooleanField()
    time = serializers.CharField()
    days = serializers.ListField(child=serializers.CharField())
    channels = serializers.ListField(child=serializers.CharField())
    quiet_start = serializers.CharField(allow_null=True)
    quiet_end = serializers.CharField(allow_null=True)
    time_zone = serializers.CharField()


def _clock(value):
    return value.strftime("%H:%M") if value else None


class PatientApi(APIView):
    permission_classes = [IsAuthenticated, TwoFactorSatisfied, IsPatient]


class ReminderSettingsApi(PatientApi):
    """The signed-in patient's reminder settings (PUT replaces them all)."""

    @extend_schema(responses={200: SettingsOutput})
    def get(self, request):
        return Response(self._out(request.user))

    @extend_schema(request=SettingsInput, responses={200: SettingsOutput})
    def put(self, request):
        data = SettingsInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        channels = values.pop("channels")
        extra = {"time_zone": values.pop("time_zone")} if "time_zone" in values else {}
        try:
            services.reminder_settings_save(
                patient=request.user,
                enabled=values["enabled"],
                remind_at=values["time"],
                days=values["days"],
                email="email" in channels,
                push="push" in channels,
                quiet_start=values.get("quiet_start"),
                quiet_end=values.get("quiet_end"),
                **extra,
            )
        except ValidationError as exc:
            return Response(exc.message_dict, status=status.HTTP_400_BAD_REQUEST)
        return Response(self._out(request.user))

    @staticmethod
    def _out(user) -> dict:
        row = selectors.settings_for(patient=user)
        return SettingsOutput(
            {
                "enabled": row.enabled,
                "time": _clock(row.remind_at),
                "days": row.day_names,
                "channels": row.channels,
                "quiet_start": _clock(row.quiet_start),
                "quiet_end": _clock(row.quiet_end),
                "time_zone": user.time_zone,
            }
        ).data


class SubscriptionKeys(serializers.Serializer):
    p256dh = serializers.CharField(max_length=200)
    auth = serializers.CharField(max_length=200)


class SubscriptionInput(serializers.Serializer):
    """The browser's PushSubscription.toJSON(), as sent by static/reminders/push.js."""

    endpoint = serializers.CharField(max_length=1000)
    keys = SubscriptionKeys()


class SubscriptionDeleteInput(serializers.Serializer):
    endpoint = serializers.CharField(max_length=1000)


class SubscriptionOutput(serializers.Serializer):
    id = serializers.UUIDField()
    push_service = serializers.CharField()
    created_at = serializers.DateTimeField()


class SubscriptionListOutput(serializers.Serializer):
    vapid_public_key = serializers.CharField()
    subscriptions = SubscriptionOutput(many=True)


def _subscription(sub) -> dict:
    return {
        "id": sub.public_id,
        "push_service": urlsplit(sub.endpoint).hostname,
        "created_at": sub.created_at,
    }


class PushSubscriptionApi(PatientApi):
    """The patient's Web Push subscriptions: list (with the VAPID key to subscribe with), add
    one (POST), remove one (DELETE with its endpoint)."""

    @extend_schema(responses={200: SubscriptionListOutput})
    def get(self, request):
        subs = selectors.push_subscriptions_of(patient=request.user)
        return Response(
            SubscriptionListOutput(
                {
                    "vapid_public_key": settings.VAPID_PUBLIC_KEY,
                    "subscriptions": [_subscription(s) for s in subs],
                }
            ).data
        )

    @extend_schema(request=SubscriptionInput, responses={201: SubscriptionOutput})
    def post(self, request):
        data = SubscriptionInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            sub = services.push_subscription_save(
                patient=request.user,
                endpoint=data.validated_data["endpoint"],
                p256dh=data.validated_data["keys"]["p256dh"],
                auth=data.validated_data["keys"]["auth"],
            )
        except ValidationError as exc:
            errors = exc.message_dict
            keys = {k: errors.pop(k) for k in ("p256dh", "auth") if k in errors}
            if keys:
                errors["keys"] = keys
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        return Response(SubscriptionOutput(_subscription(sub)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SubscriptionDeleteInput, responses={204: None})
    def delete(self, request):
        data = SubscriptionDeleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        if not services.push_subscription_delete(
            patient=request.user, endpoint=data.validated_data["endpoint"]
        ):
            return Response({"detail": "No such subscription."}, status=status.HTTP_404_NOT_FOUND)
        return Response(status=status.HTTP_204_NO_CONTENT)
