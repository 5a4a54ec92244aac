"""Explicit Input/Output serializers for the diary API, generated from diary/fields.py."""

from __future__ import annotations

from rest_framework import serializers

from accounts.api_fields import StrictCharField
from diary.fields import (
    FACTOR_CHOICES,
    MEDICINE_CHOICES,
    MEDICINE_DOSE_MAX,
    MEDICINE_NAME_MAX,
    MEDICINE_OTHER,
    MEDICINE_UNIT_MAX,
    NOTE_MAX_LENGTH,
    SCHEDULE_CHOICES,
    SCORE_MAX,
    SCORE_MIN,
    SYMPTOM_FIELDS,
)
from diary.models import DoseStatus


class ScoreField(serializers.IntegerField):
    """A whole number 0-10 sent as a JSON number: no strings, booleans or fractions."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


def _score_fields(required: bool) -> dict:
    return {
        f.name: ScoreField(
            min_value=SCORE_MIN,
            max_value=SCORE_MAX,
            required=required,
            help_text=f.help_text,
            label=f.label,
        )
        for f in SYMPTOM_FIELDS
    }


def _entry_fields(required: bool) -> dict:
    return {
        **_score_fields(required),
        "flare": StrictBooleanField(required=False),
        "factors": serializers.ListField(
            child=serializers.ChoiceField(choices=FACTOR_CHOICES),
            required=False,
            allow_empty=True,
        ),
        "note": StrictCharField(
            max_length=NOTE_MAX_LENGTH, allow_blank=True, required=False, trim_whitespace=False
        ),
    }


# A full day (create and PUT), a partial day (PATCH), and the create body with its date.
EntryInput = type("EntryInput", (serializers.Serializer,), _entry_fields(required=True))
EntryPatchInput = type("EntryPatchInput", (serializers.Serializer,), _entry_fields(required=False))
EntryCreateInput = type(
    "EntryCreateInput", (EntryInput,), {"date": serializers.DateField(help_text="YYYY-MM-DD")}
)


class EntryOutput(serializers.Serializer):
    date = serializers.DateField()
    dryness_eyes = serializers.IntegerField()
    dryness_mouth = serializers.IntegerField()
    dryness_skin = serializers.IntegerField()
    fatigue = serializers.IntegerField()
    muscle_pain = serializers.IntegerField()
    joint_pain = serializers.IntegerField()
    flare = serializers.BooleanField()
    factors = serializers.ListField(child=StrictCharField())
    note = StrictCharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    amended_at = serializers.DateTimeField(allow_null=True)


class EntryConflictOutput(serializers.Serializer):
    detail = StrictCharField()
    date = serializers.DateField()
    existing = StrictCharField(help_text="URL of the existing entry: PUT or PATCH it.")


class PreconditionFailedOutput(serializers.Serializer):
    detail = StrictCharField()
    version = StrictCharField(help_text="the day's current version (also the ETag)")


class PeriodQuery(serializers.Serializer):
    """`?from=&to=` on list endpoints (both optional, inclusive)."""

    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)

    def to_internal_value(self, data):
        renamed = {"date_from": data.get("from"), "date_to": data.get("to")}
        # An empty `?to=` is a malformed date (400), not a missing one.
        value = super().to_internal_value({k: v for k, v in renamed.items() if v is not None})
        start, end = value.get("date_from"), value.get("date_to")
        if start and end and end < start:
            raise serializers.ValidationError({"to": ["'to' is before 'from'."]})
        return value

    def run_validation(self, data=serializers.empty):
        try:
            return super().run_validation(data)
        except serializers.ValidationError as exc:
            # Report the errors under the query parameter names the client sent.
            detail = exc.detail if isinstance(exc.detail, dict) else {"from": exc.detail}
            names = {"date_from": "from", "date_to": "to"}
            raise serializers.ValidationError(
                {names.get(k, k): v for k, v in detail.items()}
            ) from exc


# --- Medicines and doses --------------------------------------------------------------------
class MedicineInput(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=[*MEDICINE_CHOICES, (MEDICINE_OTHER, "Another medicine")],
        required=False,
        help_text='ATC code of a listed medicine, or "other" with its name typed in `name`. '
        "Without it the name is matched to the list (exact name), else it counts as other.",
    )
    name = StrictCharField(max_length=MEDICINE_NAME_MAX, required=False, default="")
    dose = StrictCharField(max_length=MEDICINE_DOSE_MAX, allow_blank=True)
    unit = StrictCharField(max_length=MEDICINE_UNIT_MAX, allow_blank=True)
    schedule = serializers.ChoiceField(choices=SCHEDULE_CHOICES)
    times = serializers.ListField(
        child=StrictCharField(max_length=5),
        required=False,
        max_length=4,
        help_text='optional clock times of the day\'s doses, one per dose, e.g. ["08:00", "20:00"]',
    )
    start_date = serializers.DateField()
    end_date = serializers.DateField(required=False, allow_null=True)


class MedicinePatchInput(serializers.Serializer):
    """Change the dose (dose, unit, schedule from `effective`) and/or stop (`end_date`)."""

    dose = StrictCharField(max_length=MEDICINE_DOSE_MAX, allow_blank=True, required=False)
    unit = StrictCharField(max_length=MEDICINE_UNIT_MAX, allow_blank=True, required=False)
    schedule = serializers.ChoiceField(choices=SCHEDULE_CHOICES, required=False)
    times = serializers.ListField(
        child=StrictCharField(max_length=5),
        required=False,
        max_length=4,
        help_text='optional clock times of the day\'s doses, one per dose, e.g. ["08:00", "20:00"]',
    )
    effective = serializers.DateField(required=False)
    end_date = serializers.DateField(required=False)


class DoseChangeOutput(serializers.Serializer):
    date = serializers.DateField()
    dose = StrictCharField()
    unit = StrictCharField()
    schedule = StrictCharField()


class MedicineOutput(serializers.Serializer):
    id = serializers.UUIDField()
    code = StrictCharField()
    name = StrictCharField()
    dose = StrictCharField()
    unit = StrictCharField()
    schedule = StrictCharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField(allow_null=True)
    history = DoseChangeOutput(many=True)
    times = serializers.ListField(child=StrictCharField())


class DoseInput(serializers.Serializer):
    medicine = serializers.UUIDField()
    date = serializers.DateField()
    slot = serializers.IntegerField(min_value=1, max_value=4, default=1)
    status = serializers.ChoiceField(choices=DoseStatus.choices)


class DoseOutput(serializers.Serializer):
    id = serializers.UUIDField()
    medicine = serializers.UUIDField(source="medicine_id")
    date = serializers.DateField()
    slot = serializers.IntegerField()
    status = serializers.CharField()
    recorded_at = serializers.DateTimeField()


class AdherenceOutput(serializers.Serializer):
    medicine = MedicineOutput()
    expected = serializers.IntegerField(help_text="doses due by the schedule in the period")
    taken = serializers.IntegerField()
    missed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    unrecorded = serializers.IntegerField()
    percent = serializers.FloatField(
        allow_null=True, help_text="taken out of (due - skipped), in %; null if nothing was due"
    )


class AccountDeleteInput(serializers.Serializer):
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})
