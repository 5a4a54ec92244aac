"""HTML forms, generated from diary/fields.py so that they match the API and the services."""

from __future__ import annotations

from datetime import timedelta

from django import forms

from diary.fields import (
    COMMON_MEDICINES,
    FACTOR_CHOICES,
    FLARE_HELP,
    FLARE_LABEL,
    MEDICINE_DOSE_MAX,
    MEDICINE_NAME_MAX,
    MEDICINE_UNIT_MAX,
    NOTE_HELP,
    NOTE_LABEL,
    NOTE_MAX_LENGTH,
    SCHEDULE_CHOICES,
    SYMPTOM_FIELDS,
)
from diary.models import DoseStatus

SCORE_CHOICES = [(i, str(i)) for i in range(11)]
FLARE_CHOICES = [("no", "No"), ("yes", "Yes")]
OTHER_MEDICINE = "__other__"


def date_widget() -> forms.DateInput:
    # <input type="date"> only accepts ISO dates; Django would render the en-GB format.
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class EntryForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in SYMPTOM_FIELDS:
            self.fields[field.name] = forms.TypedChoiceField(
                label=field.label,
                help_text=field.help_text,
                choices=SCORE_CHOICES,
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={"required": f"Choose a number from 0 to 10 for {field.label}."},
            )
        self.fields["flare"] = forms.ChoiceField(
            label=FLARE_LABEL,
            help_text=FLARE_HELP,
            choices=FLARE_CHOICES,
            initial="no",
            widget=forms.RadioSelect,
        )
        self.fields["factors"] = forms.MultipleChoiceField(
            label="Anything that may have made it worse?",
            choices=FACTOR_CHOICES,
            required=False,
            widget=forms.CheckboxSelectMultiple,
        )
        self.fields["note"] = forms.CharField(
            label=NOTE_LABEL,
            help_text=NOTE_HELP,
            required=False,
            max_length=NOTE_MAX_LENGTH,
            widget=forms.Textarea(attrs={"rows": 3}),
            strip=False,
        )

    @staticmethod
    def initial_from(values: dict) -> dict:
        return {**values, "flare": "yes" if values.get("flare") else "no"}

    def values(self) -> dict:
        """The cleaned data in the shape the services and the API use."""
        data = dict(self.cleaned_data)
        data["flare"] = data["flare"] == "yes"
        return data

    def symptom_fields(self):
        return [self[f.name] for f in SYMPTOM_FIELDS]


class MedicineForm(forms.Form):
    choice = forms.ChoiceField(
        label="Medicine",
        choices=[("", "Choose a medicine")]
        + [(m, m) for m in COMMON_MEDICINES]
        + [(OTHER_MEDICINE, "Another medicine (type its name below)")],
    )
    other_name = forms.CharField(
        label="Name of another medicine",
        required=False,
        max_length=MEDICINE_NAME_MAX,
        help_text="Only if it is not in the list above.",
    )
    dose = forms.CharField(label="Dose", max_length=MEDICINE_DOSE_MAX, help_text="For example 200")
    unit = forms.CharField(
        label="Unit", max_length=MEDICINE_UNIT_MAX, help_text="For example mg, drops, mL"
    )
    schedule = forms.ChoiceField(label="How often", choices=SCHEDULE_CHOICES)
    start_date = forms.DateField(label="Started on", widget=date_widget())

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("choice") == OTHER_MEDICINE and not cleaned.get("other_name", "").strip():
            self.add_error("other_name", "Type the name of the medicine.")
        return cleaned

    @property
    def medicine_name(self) -> str:
        choice = self.cleaned_data["choice"]
        return self.cleaned_data["other_name"] if choice == OTHER_MEDICINE else choice


class MedicineChangeForm(forms.Form):
    dose = forms.CharField(label="New dose", max_length=MEDICINE_DOSE_MAX)
    unit = forms.CharField(label="Unit", max_length=MEDICINE_UNIT_MAX)
    schedule = forms.ChoiceField(label="How often", choices=SCHEDULE_CHOICES)
    effective = forms.DateField(label="From", widget=date_widget())


class MedicineStopForm(forms.Form):
    end_date = forms.DateField(label="Last day taken", widget=date_widget())


class DoseChecklistForm(forms.Form):
    """One radio group per scheduled dose of the day: taken, missed or skipped."""

    def __init__(self, *args, slots, **kwargs):
        super().__init__(*args, **kwargs)
        self.slots = slots
        for index, slot in enumerate(slots):
            count = f" (dose {slot.slot})" if slot.slot > 1 or _many(slots, slot) else ""
            self.fields[f"dose_{index}"] = forms.ChoiceField(
                label=f"{slot.medicine.name} {slot.medicine.dose} {slot.medicine.unit}{count}",
                choices=DoseStatus.choices,
                required=False,
                initial=slot.status,
                widget=forms.RadioSelect,
            )

    def answers(self):
        for index, slot in enumerate(self.slots):
            status = self.cleaned_data.get(f"dose_{index}")
            if status:
                yield slot, status


def _many(slots, slot) -> bool:
    return sum(1 for s in slots if s.medicine.id == slot.medicine.id) > 1


class PeriodForm(forms.Form):
    date_from = forms.DateField(label="From", widget=date_widget())
    date_to = forms.DateField(label="To", widget=date_widget())

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end of the period is before its start.")
        if start and end and (end - start) > timedelta(days=366 * 10):
            self.add_error("date_from", "Choose a period of at most ten years.")
        return cleaned


class ConfirmPasswordForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="To make sure it is really you.",
    )
    confirm = forms.BooleanField(
        label="I understand that my diary will be destroyed and cannot be recovered."
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
