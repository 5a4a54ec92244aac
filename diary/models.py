"""Diary data. Sensitive fields live in one encrypted `payload` per row (diary/crypto.py).

Primary keys are UUIDs made in Python so that the id can be bound into the ciphertext's
associated data before the row is inserted. Only what must be queried stays in clear columns:
dates, ids and record types (the instrument). Every health value (symptom scores, the flare flag,
dose status, questionnaire scores) is inside the encrypted payload, so a database dump next to
the accounts table reveals no health data (issue 16; docs/hardening.md).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Record types bound into each blob's associated data.
ENTRY_RECORD = "diary.entry"
MEDICINE_RECORD = "diary.medicine"
QUESTIONNAIRE_RECORD = "diary.questionnaire"
DOSE_RECORD = "diary.dose"
DOSE_TALLY_RECORD = "diary.dose_tally"


class PatientKey(models.Model):
    """A patient's data key, stored only wrapped by a key-encryption key."""

    patient = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_key"
    )
    # Hex id of the DEK, also written into every blob so a foreign blob is refused at once.
    key_id = models.CharField(max_length=16)
    wrapped_dek = models.BinaryField()
    kek_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(null=True, blank=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A destroyed key keeps no key material (crypto-shredding).
            models.CheckConstraint(
                condition=Q(destroyed_at__isnull=True) | Q(wrapped_dek=b""),
                name="patientkey_destroyed_has_no_material",
            )
        ]

    def __str__(self) -> str:
        return f"data key of patient {self.patient_id}"


class DailyEntry(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="diary_entries"
    )
    date = models.DateField()
    # Encrypted: the six scores, flare, factors and note (counts are made after decryption).
    payload = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Set when the day is changed after it ended (in the patient's time zone).
    amended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "date"], name="diaryentry_one_per_day")
        ]
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"diary entry {self.id}"


class Medicine(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="medicines"
    )
    # Encrypted: name, dose, unit, schedule, and the history of dose changes.
    payload = models.BinaryField()
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="medicine_ends_after_start",
            )
        ]
        ordering = ["start_date", "created_at"]

    def __str__(self) -> str:
        return f"medicine {self.id}"


class DoseStatus(models.TextChoices):
    TAKEN = "taken", _("Taken")
    MISSED = "missed", _("Missed")
    SKIPPED = "skipped", _("Skipped")


class DoseLog(models.Model):
    """One scheduled dose on one day: taken, missed or skipped.

    The status says whether a patient takes their medicine, which is health data: it is sealed
    in `payload` ({"status": ...}) with the medicine's patient's key; the day and slot stay
    clear (one answer per slot)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    medicine = models.ForeignKey(Medicine, on_delete=models.CASCADE, related_name="dose_logs")
    date = models.DateField()
    slot = models.PositiveSmallIntegerField(default=1)
    payload = models.BinaryField()
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["medicine", "date", "slot"], name="doselog_one_per_slot"
            ),
            models.CheckConstraint(condition=Q(slot__gte=1, slot__lte=4), name="doselog_slot_1_4"),
        ]
        ordering = ["date", "slot"]

    def __str__(self) -> str:
        return f"dose {self.date} #{self.slot}"


class DoseTally(models.Model):
    """How many of a medicine's doses in one calendar month were answered taken, missed and
    skipped, sealed as one blob ({"taken": n, "missed": n, "skipped": n}, record type
    diary.dose_tally) with the medicine's patient's key (issue 16).

    Derived data, kept so that a long adherence period decrypts one blob per medicine and month
    instead of every dose: the dose write service adjusts it in the same transaction as the dose
    (row locked), services.dose_tallies_rebuild and the migration that added it rebuild it from
    the doses. Only whole months inside a period are read from it; the rest comes from the rows.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    medicine = models.ForeignKey(Medicine, on_delete=models.CASCADE, related_name="dose_tallies")
    month = models.DateField()  # the first day of the month
    payload = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["medicine", "month"], name="dosetally_one_per_month"),
            models.CheckConstraint(condition=Q(month__day=1), name="dosetally_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"dose tally {self.month:%Y-%m}"


class Instrument(models.TextChoices):
    ESSPRI = "esspri", "ESSPRI"
    OSDI = "osdi", "OSDI"
    EQ5D5L = "eq5d5l", "EQ-5D-5L"


class QuestionnaireResponse(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="questionnaire_responses"
    )
    instrument = models.CharField(max_length=16, choices=Instrument.choices)
    # Encrypted {"answers": {...}, "score": float | None}: trends and aggregates decrypt first.
    payload = models.BinaryField()
    period_start = models.DateField()
    period_end = models.DateField()
    completed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(instrument__in=Instrument.values), name="questionnaire_known_instrument"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="questionnaire_period_ordered"
            ),
        ]
        indexes = [models.Index(fields=["patient", "instrument", "period_end"])]
        ordering = ["-period_end", "-completed_at"]

    def __str__(self) -> str:
        return f"{self.instrument} response {self.id}"


class SaveReceipt(models.Model):
    """An idempotency key already applied to a patient's day (offline replay, API retries).

    A replayed request with a known key changes nothing and is answered "duplicate". Receipts are
    pruned after RECEIPT_DAYS (services.receipts_prune); a key reused after that is a new save.
    The key is client-made and carries no patient data.
    """

    RECEIPT_DAYS = 30

    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="diary_save_receipts"
    )
    key = models.CharField(max_length=64)
    entry_date = models.DateField()
    # The day's version token right after this save, returned again to a duplicate.
    version = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "key"], name="savereceipt_key_per_patient"),
            models.CheckConstraint(condition=~Q(key=""), name="savereceipt_key_not_empty"),
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"save receipt {self.entry_date}"
