from django import forms
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import BIRTH_YEAR_MIN, TEXT_SIZES
from accounts.profile import birth_year_max, time_zone_names


class OtpCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from your authenticator app, or a backup code"),
        max_length=10,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        label=_("Your name"),
        max_length=150,
        required=False,
        help_text=_("How the portal greets you, and how clinicians you share with see you."),
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        help_text=_("Your diary day starts at midnight in this time zone."),
    )
    birth_year = forms.IntegerField(
        label=_("Year of birth"),
        required=False,
        min_value=BIRTH_YEAR_MIN,
        help_text=_(
            "Only the year. Research registries receive it only if you agree to share "
            "your diary with them."
        ),
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "autocomplete": "bday-year"}),
    )

    text_size = forms.TypedChoiceField(
        label=_("Text size"),
        coerce=int,
        required=False,
        empty_value=None,
        choices=[
            (size, _("Standard (100%)") if size == 100 else f"{size}%") for size in TEXT_SIZES
        ],
        help_text=_("Makes the text on every page of the portal larger for you."),
        error_messages={"invalid_choice": _("Choose one of the text sizes in the list.")},
    )

    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        help_text=_("The language of the portal's pages for you, on every device you use."),
        error_messages={
            "invalid_choice": _(
                "%(value)s is not a language this portal offers. Choose one from the list."
            )
        },
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self._user = user
        # Each language named in its own language, so a reader finds theirs in any interface.
        self.fields["language"].choices = [
            ("", gettext("The language your browser asks for")),
            *settings.LANGUAGES,
        ]
        self.fields["time_zone"].choices = [(name, name) for name in time_zone_names()]
        if user.is_patient:
            self.fields["birth_year"].widget.attrs["max"] = birth_year_max()
        else:
            del self.fields["birth_year"]

    def clean_text_size(self):
        # Not sent (an older form, a script): keep the current size.
        size = self.cleaned_data["text_size"]
        return self._user.text_size if size is None else size

    def clean_language(self):
        # Not sent (an older form, a script): keep the current choice; empty follows the browser.
        if "language" not in self.data:
            return self._user.language
        return self.cleaned_data["language"]

    def clean_birth_year(self):
        year = self.cleaned_data["birth_year"]
        if year is not None and year > birth_year_max():
            raise forms.ValidationError(
                gettext("Enter a year no later than %(year)s.") % {"year": birth_year_max()}
            )
        return year


class SignupTimeZoneForm(forms.Form):
    """Extra sign-up field (ACCOUNT_SIGNUP_FORM_CLASS): the browser's time zone, filled in by
    static/accounts/time_zone.js, so the diary day follows the patient's own midnight from the
    start. Empty (no JavaScript) keeps the default; an unknown name is a form error."""

    time_zone = forms.CharField(
        required=False,
        max_length=64,
        widget=forms.HiddenInput(attrs={"data-browser-time-zone": ""}),
    )

    def clean_time_zone(self):
        name = self.cleaned_data["time_zone"].strip()
        if name and name not in time_zone_names():
            raise forms.ValidationError(
                gettext(
                    "Your browser reported the time zone %(name)r, which we do not know. "
                    "Sign up without it and choose your time zone in Settings."
                )
                % {"name": name}
            )
        return name

    def signup(self, request, user) -> None:
        if self.cleaned_data.get("time_zone"):
            user.time_zone = self.cleaned_data["time_zone"]
            user.save(update_fields=["time_zone"])


class ResendConfirmationForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
