"""HTML forms, generated from diary/fields.py so that they match the API and the services."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from diary import dates
from diary.fields import (
    ENTRY_FIELDS,
    FACTOR_CHOICES,
    FLARE_HELP,
    FLARE_LABEL,
    MEDICINE_CHOICES,
    MEDICINE_DOSE_MAX,
    MEDICINE_NAME_MAX,
    MEDICINE_OTHER,
    MEDICINE_UNIT_MAX,
    MEDICINE_UNITS,
    NOTE_HELP_TEMPLATE,
    NOTE_LABEL,
    NOTE_MAX_LENGTH,
    SCHEDULE_CHOICES,
    SYMPTOM_FIELDS,
    SYMPTOM_NAMES,
)
from diary.models import DoseStatus
from diary.records import DoseSlot

SCORE_CHOICES = [(i, str(i)) for i in range(11)]
FLARE_CHOICES = [("no", _("No")), ("yes", _("Yes"))]
OTHER_MEDICINE = MEDICINE_OTHER
TIMES_HELP = _(
    "When you take it several times a day, the time of each dose, e.g. 08:00, 20:00. "
    "The day's checklist then shows each dose with its time."
)
# diary/fields.py keeps English labels (gettext_noop); the forms show them translated.
TRANSLATED_SCHEDULE_CHOICES = [(value, _(label)) for value, label in SCHEDULE_CHOICES]


def date_widget() -> forms.DateInput:
    # <input type="date"> only accepts ISO dates; Django would render the en-GB format.
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class EntryForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in SYMPTOM_FIELDS:
            label = gettext(field.label)
            self.fields[field.name] = forms.TypedChoiceField(
                label=label,
                help_text=gettext(field.help_text),
                choices=SCORE_CHOICES,
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={
                    "required": gettext("Choose a number from 0 to 10 for %(label)s.")
                    % {"label": label}
                },
            )
        self.fields["flare"] = forms.ChoiceField(
            label=gettext(FLARE_LABEL),
            help_text=gettext(FLARE_HELP),
            choices=FLARE_CHOICES,
            initial="no",
            widget=forms.RadioSelect,
        )
        self.fields["factors"] = forms.MultipleChoiceField(
            label=gettext("Anything that may have made it worse?"),
            choices=[(value, gettext(label)) for value, label in FACTOR_CHOICES],
            required=False,
            widget=forms.CheckboxSelectMultiple,
        )
        self.fields["note"] = forms.CharField(
            label=gettext(NOTE_LABEL),
            help_text=gettext(NOTE_HELP_TEMPLATE)
            % {"max": number_format(NOTE_MAX_LENGTH, force_grouping=True)},
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


class DayForm(EntryForm):
    """The whole day on one form: the entry plus one radio group per scheduled dose.

    Every input has a stable name (offline replay posts them back later): the entry's field
    names, `dose-<medicine id>-<slot>`, `all_taken` (the "all taken as planned" submit button),
    `idempotency_key` and `base_version`.
    """

    def __init__(self, *args, slots: list[DoseSlot] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.slots = list(slots)
        for slot in self.slots:
            self.fields[slot.field_name] = forms.ChoiceField(
                label=dose_label(slot, self.slots),
                choices=DoseStatus.choices,
                required=False,
                initial=slot.status,
                widget=forms.RadioSelect,
            )
        self.fields["all_taken"] = forms.BooleanField(required=False, widget=forms.HiddenInput)
        self.fields["idempotency_key"] = forms.CharField(
            required=False, max_length=64, widget=forms.HiddenInput
        )
        self.fields["base_version"] = forms.CharField(
            required=False, max_length=32, widget=forms.HiddenInput
        )
        if self.is_bound and self.entry_blank() and self.doses_answered():
            # Only doses ticked off (e.g. the morning dose): the day's scores can follow later.
            for name in SYMPTOM_NAMES:
                self.fields[name].required = False

    def entry_blank(self) -> bool:
        data = self.data
        return (
            not any(data.get(name) for name in SYMPTOM_NAMES)
            and data.get("flare", "") in ("", "no")
            and not data.getlist("factors")
            and not data.get("note", "")
        )

    def doses_answered(self) -> bool:
        return self.data.get("all_taken") in ("1", "on", "true") or any(
            self.data.get(slot.field_name) for slot in self.slots
        )

    def values(self) -> dict | None:
        """The entry as the services take it, or None when only doses were given."""
        if self.entry_blank() and self.doses_answered():
            return None
        data = {name: self.cleaned_data[name] for name in ENTRY_FIELDS}
        data["flare"] = data["flare"] == "yes"
        return data

    def dose_answers(self) -> list[tuple]:
        """(medicine_id, slot, status) for each answered dose; "all taken" fills the rest."""
        answers = []
        for slot in self.slots:
            status = self.cleaned_data.get(slot.field_name) or (
                DoseStatus.TAKEN if self.cleaned_data.get("all_taken") else ""
            )
            if status:
                answers.append((slot.medicine.id, slot.slot, status))
        return answers

    def dose_fields(self):
        return [(self[slot.field_name], slot) for slot in self.slots]

    @staticmethod
    def posted_values(entry_values: dict | None, doses: dict, slots) -> dict:
        """A stored day as the form would post it (the offline queue compares these)."""
        posted: dict = {}
        if entry_values is not None:
            posted = {name: str(entry_values[name]) for name in SYMPTOM_NAMES}
            posted["flare"] = "yes" if entry_values["flare"] else "no"
            posted["factors"] = list(entry_values["factors"])
            posted["note"] = entry_values["note"]
        for slot in slots:
            posted[slot.field_name] = doses.get((slot.medicine.id, slot.slot)) or ""
        return posted

    def submitted_values(self) -> dict:
        """What was posted, in the same shape as posted_values."""
        data = self.data
        posted = {name: data.get(name, "") for name in SYMPTOM_NAMES}
        posted["flare"] = data.get("flare", "")
        posted["factors"] = data.getlist("factors")
        posted["note"] = data.get("note", "")
        for slot in self.slots:
            posted[slot.field_name] = data.get(slot.field_name, "")
        return posted


def dose_label(slot: DoseSlot, slots) -> str:
    medicine = slot.medicine
    label = f"{medicine.name} {medicine.dose} {medicine.unit}"
    if slot.time:
        return f"{label}, {slot.time}"
    if slot.slot > 1 or _many(slots, slot):
        return gettext("%(label)s (dose %(number)s)") % {"label": label, "number": slot.slot}
    return label


class UnitInput(forms.TextInput):
    """A free-text unit with the common units offered (an HTML datalist, no script)."""

    def __init__(self):
        super().__init__(attrs={"list": "medicine-units", "autocomplete": "off"})

    def render(self, name, value, attrs=None, renderer=None):
        field = super().render(name, value, attrs, renderer)
        options = format_html_join("", '<option value="{}">', ((u,) for u in MEDICINE_UNITS))
        return format_html('{}<datalist id="medicine-units">{}</datalist>', field, options)


UNIT_HELP = _("For example mg, drops, mL (research exports keep a dose only with a listed unit).")


class MedicineForm(forms.Form):
    choice = forms.ChoiceField(
        label=_("Medicine"),
        choices=[("", _("Choose a medicine"))]
        + list(MEDICINE_CHOICES)
        + [(OTHER_MEDICINE, _("Another medicine (type its name below)"))],
        help_text=_(
            "Research exports carry the medicine's code only; a name you type for "
            "another medicine stays in your own diary."
        ),
    )
    other_name = forms.CharField(
        label=_("Name of another medicine"),
        required=False,
        max_length=MEDICINE_NAME_MAX,
        help_text=_("Only if it is not in the list above."),
    )
    dose = forms.CharField(
        label=_("Dose"), max_length=MEDICINE_DOSE_MAX, help_text=_("For example 200")
    )
    unit = forms.CharField(
        label=_("Unit"), max_length=MEDICINE_UNIT_MAX, help_text=UNIT_HELP, widget=UnitInput()
    )
    schedule = forms.ChoiceField(label=_("How often"), choices=TRANSLATED_SCHEDULE_CHOICES)
    times = forms.CharField(
        label=_("Times of the doses (optional)"),
        required=False,
        max_length=40,
        help_text=TIMES_HELP,
    )
    start_date = forms.DateField(label=_("Started on"), widget=date_widget())

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("choice") == OTHER_MEDICINE and not cleaned.get("other_name", "").strip():
            self.add_error("other_name", _("Type the name of the medicine."))
        return cleaned

    @property
    def medicine_code(self) -> str:
        return self.cleaned_data["choice"]

    @property
    def medicine_name(self) -> str:
        choice = self.cleaned_data["choice"]
        if choice == OTHER_MEDICINE:
            return self.cleaned_data["other_name"].strip()
        return dict(MEDICINE_CHOICES)[choice]


class MedicineChangeForm(forms.Form):
    dose = forms.CharField(label=_("New dose"), max_length=MEDICINE_DOSE_MAX)
    unit = forms.CharField(
        label=_("Unit"), max_length=MEDICINE_UNIT_MAX, help_text=UNIT_HELP, widget=UnitInput()
    )
    schedule = forms.ChoiceField(label=_("How often"), choices=TRANSLATED_SCHEDULE_CHOICES)
    times = forms.CharField(
        label=_("Times of the doses (optional)"),
        required=False,
        max_length=40,
        help_text=TIMES_HELP,
    )
    effective = forms.DateField(label=_("From"), widget=date_widget())


class MedicineStopForm(forms.Form):
    end_date = forms.DateField(label=_("Last day taken"), widget=date_widget())


def _many(slots, slot) -> bool:
    return sum(1 for s in slots if s.medicine.id == slot.medicine.id) > 1


class PeriodForm(forms.Form):
    """A period of the patient's diary; checked against their date window (diary/dates.py)."""

    date_from = forms.DateField(label=_("From"), widget=date_widget())
    date_to = forms.DateField(label=_("To"), widget=date_widget())

    def __init__(self, *args, patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.patient = patient

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end:
            try:
                cleaned["date_from"], cleaned["date_to"] = dates.resolve_period(
                    patient=self.patient,
                    date_from=start,
                    date_to=end,
                    from_field="date_from",
                    to_field="date_to",
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    self.add_error(field, errors)
        return cleaned


class ConfirmPasswordForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("To make sure it is really you."),
    )
    confirm = forms.BooleanField(
        label=_("I understand that my diary will be destroyed and cannot be recovered.")
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
