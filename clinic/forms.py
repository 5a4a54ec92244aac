"""The clinic's query forms: a period (from, to) and the patient list's search and sort.

Bad input is a form error shown beside the field and a 400, never a 500 and never a silent
fallback: a clinician must know which period the figures on the page cover.
"""

from __future__ import annotations

from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from clinic.selectors import SORTS

MAX_PERIOD_DAYS = 366 * 5


class PeriodForm(forms.Form):
    date_from = forms.DateField(
        label="From",
        error_messages={
            "required": "Enter the first day of the period.",
            "invalid": "Enter a date such as 2026-01-31.",
        },
    )
    date_to = forms.DateField(
        label="To",
        error_messages={
            "required": "Enter the last day of the period.",
            "invalid": "Enter a date such as 2026-01-31.",
        },
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise ValidationError(
                {"date_from": "The period is reversed: the start must be on or before the end."}
            )
        if start and end and (end - start).days > MAX_PERIOD_DAYS:
            raise ValidationError({"date_from": "Choose a period of at most five years."})
        return data


class PatientListForm(PeriodForm):
    q = forms.CharField(label="Search by name or e-mail", required=False, max_length=100)
    sort = forms.ChoiceField(label="Sort by", choices=list(SORTS.items()), required=False)


def bind(form_class, query: QueryDict, default: tuple[date, date]):
    """Bind a period form to ?from=&to= (absent: the default period; present but blank: an
    error), keeping the other query fields."""
    data = {key: query.get(key, "") for key in ("q", "sort")}
    data["date_from"] = query["from"] if "from" in query else default[0]
    data["date_to"] = query["to"] if "to" in query else default[1]
    return form_class(data)
