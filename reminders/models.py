"""Reminder settings, Web Push subscriptions and the record that makes each send happen once."""

from __future__ import annotations

import uuid
from datetime import time

from django.conf import settings
from django.db import models
from django.utils import timezone

ALL_DAYS = 0b1111111  # Monday is bit 0, as date.weekday()
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_LABELS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class ReminderSettings(models.Model):
    """When and how one patient wants to be reminded. The time zone is the patient's own
    (accounts.User.time_zone), which also decides their diary day."""

    patient = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminder_settings"
    )
    enabled = models.BooleanField(default=False)
    remind_at = models.TimeField(default=time(20, 0))
    days = models.PositiveSmallIntegerField(default=ALL_DAYS)  # bit i: weekday i
    email = models.BooleanField(default=True)
    push = models.BooleanField(default=False)
    # No reminder inside [quiet_start, quiet_end) local time; the window may cross midnight.
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    # Bumped whenever a channel is switched back on: older unsubscribe links then change nothing.
    generation = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "reminder settings"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(days__gte=0, days__lte=ALL_DAYS), name="reminder_days_bitmask"
            ),
            models.CheckConstraint(
                condition=models.Q(quiet_start__isnull=True, quiet_end__isnull=True)
                | models.Q(quiet_start__isnull=False, quiet_end__isnull=False),
                name="reminder_quiet_hours_both_or_neither",
            ),
        ]
        indexes = [
            models.Index(
                fields=["patient"], condition=models.Q(enabled=True), name="reminder_enabled_idx"
            )
        ]

    def __str__(self) -> str:
        return f"reminder settings of user {self.patient_id}"

    @property
    def day_names(self) -> list[str]:
        return [name for i, name in enumerate(DAY_NAMES) if self.days & (1 << i)]

    @property
    def channels(self) -> list[str]:
        return [c for c in ("email", "push") if getattr(self, c)]


class PushSubscription(models.Model):
    """A browser's Web Push subscription (the PushSubscription JSON of the Push API)."""

    # The id that URLs, API responses and pages show (issue 16): the integer primary key stays
    # internal (foreign keys, encryption associated data) so that nobody can count the rows.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=88)  # 65-byte P-256 point, base64url
    auth = models.CharField(max_length=24)  # 16-byte secret, base64url
    created_at = models.DateTimeField(default=timezone.now)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"push subscription {self.pk} of user {self.patient_id}"


class SendKind(models.TextChoices):
    DIARY = "diary", "Daily diary"
    QUESTIONNAIRE = "questionnaire", "Questionnaire due"


class SendStatus(models.TextChoices):
    CLAIMED = "claimed", "Claimed"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class ReminderSend(models.Model):
    """One reminder of one kind for one patient and day. The unique constraint is the claim:
    whichever beat tick or worker inserts the row first sends; every other one skips.
    For questionnaires, `day` is the day the questionnaire fell due (one nudge per due date)."""

    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminder_sends"
    )
    day = models.DateField()
    kind = models.CharField(max_length=16, choices=SendKind.choices)
    status = models.CharField(max_length=8, choices=SendStatus.choices, default=SendStatus.CLAIMED)
    claimed_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    channels = models.CharField(max_length=32, blank=True)  # "email,push" as delivered

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "day", "kind"], name="reminder_send_once_per_day_and_kind"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=SendKind.values), name="reminder_send_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} reminder of user {self.patient_id} on {self.day}"
