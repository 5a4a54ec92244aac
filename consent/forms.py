"""Forms for the patient's consent and sharing pages and the clinician's request page."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from consent.models import ShareScope
from consent.nhs import validate_nhs_number


class ScopesField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        kwargs.setdefault("choices", ShareScope.choices)
        kwargs.setdefault("label", "What to share")
        super().__init__(**kwargs)


class ConsentGiveForm(forms.Form):
    document_id = forms.UUIDField(widget=forms.HiddenInput)
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


# --- Staff: clinician accounts ----------------------------------------------------------------


class ClinicianOnboardForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        help_text="We send the clinician a link to this address to choose their password.",
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    display_name = forms.CharField(
        label="Name as patients will see it", max_length=150, help_text="e.g. Dr Jane Smith"
    )
    professional_register = forms.CharField(
        label="Professional register", max_length=100, help_text="e.g. GMC, NMC, HCPC"
    )
    registration_number = forms.CharField(label="Registration number", max_length=50)
    organisation = forms.CharField(label="Organisation (optional)", max_length=200, required=False)


class ClinicianVerifyForm(forms.Form):
    checked = forms.BooleanField(
        label="I have checked this clinician's entry on their professional register",
        error_messages={"required": "Tick the box once you have checked the register entry."},
    )
