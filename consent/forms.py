"""Forms for the patient's consent and sharing pages and the clinician's request page."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from consent.models import ShareScope
from consent.nhs import validate_nhs_number
from diary import dates


class ScopesField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        kwargs.setdefault("choices", ShareScope.choices)
        kwargs.setdefault("label", "What to share")
        super().__init__(**kwargs)


class ConsentGiveForm(forms.Form):
    document_id = forms.IntegerField(widget=forms.HiddenInput)
    nhs_number = forms.CharField(
        label="Your NHS number",
        required=False,
        max_length=20,
        help_text="10 digits, on any letter from the NHS or in the NHS App, e.g. 943 476 5919.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def clean_nhs_number(self) -> str:
        raw = self.cleaned_data.get("nhs_number", "")
        return validate_nhs_number(raw) if raw.strip() else ""


class ConsentWithdrawForm(forms.Form):
    scope = forms.CharField(widget=forms.HiddenInput)
    registry = forms.CharField(widget=forms.HiddenInput, required=False)


class ShareForm(forms.Form):
    clinician_email = forms.EmailField(
        label="Your clinician's email address",
        help_text="If they have no account yet, we send them an invitation link.",
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    scopes = ScopesField(initial=["diary", "medicines", "questionnaires"])
    ends_on = forms.DateField(
        label="Share until (optional)",
        required=False,
        help_text="Leave empty to share until you stop it. You can stop sharing at any time.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class AnswerRequestForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("decline", "Decline")])
    scopes = ScopesField(required=False)
    ends_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("decision") == "accept" and not data.get("scopes"):
            raise ValidationError({"scopes": "Choose at least one thing to share."})
        return data


class AccessRequestForm(forms.Form):
    patient_email = forms.EmailField(
        label="Patient's email address",
        help_text="The email address the patient uses for My Sjögren's Diary.",
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    scopes = ScopesField(
        label="What you would like to see", initial=["diary", "medicines", "questionnaires"]
    )


class SummaryPeriodForm(forms.Form):
    date_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        for field, day in (("date_from", start), ("date_to", end)):
            if day and (problem := dates.outside_any_window(day)):
                raise ValidationError({field: problem})
        if start and end and start > end:
            raise ValidationError({"date_from": "The start must be on or before the end."})
        if start and end and (end - start).days > 366 * 5:
            raise ValidationError({"date_from": "Choose a period of at most five years."})
        return data
