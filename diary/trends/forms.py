"""The period of the patient's PDF summary: every bad input is a form error, never a 500."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

MAX_DAYS = 5 * 366


class SummaryPeriodForm(forms.Form):
    date_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, today, first_day, **kwargs):
        super().__init__(*args, **kwargs)
        self.today, self.first_day = today, first_day
        self.clamped = False

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start is None or end is None:
            return cleaned
        if end < start:
            raise forms.ValidationError(_("The period ends before it starts: swap the two dates."))
        if end > self.today:
            self.add_error("date_to", _("The period cannot end after today."))
            return cleaned
        if self.first_day is None:
            raise forms.ValidationError(
                _("Your diary is empty: there is nothing to summarise yet.")
            )
        if end < self.first_day:
            raise forms.ValidationError(
                f"Your diary starts on {self.first_day:%d %b %Y}: choose a period after that."
            )
        if start < self.first_day:  # longer than the data: start where the diary starts
            cleaned["date_from"] = start = self.first_day
            self.clamped = True
        if (end - start) > timedelta(days=MAX_DAYS):
            raise forms.ValidationError(_("Choose a period of at most five years."))
        return cleaned
