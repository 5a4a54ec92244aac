"""The answer form of an instrument, generated from its definition (one radio group per item)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from diary.questionnaires.definitions import NOT_APPLICABLE, Instrument, Item


def _coerce(value: str) -> int | str:
    return value if value == NOT_APPLICABLE else int(value)


def _field(item: Item) -> forms.Field:
    if item.kind == "vas":
        return forms.IntegerField(
            label=item.text,
            min_value=item.min_value,
            max_value=item.max_value,
            widget=forms.NumberInput(
                attrs={
                    "inputmode": "numeric",
                    "min": item.min_value,
                    "max": item.max_value,
                    "aria-describedby": f"id_{item.key}_help",
                }
            ),
            error_messages={"required": _("Enter a number from 0 to 100.")},
        )
    return forms.TypedChoiceField(
        label=item.text,
        choices=[(str(o.value), o.label) for o in item.options],
        coerce=_coerce,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose one answer.")},
    )


class QuestionnaireForm(forms.Form):
    def __init__(self, instrument: Instrument, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.instrument = instrument
        for item in instrument.items:
            self.fields[item.key] = _field(item)

    def sections(self) -> list[dict]:
        """Sections of (number, item, bound field) for the template."""
        numbers = {item.key: n for n, item in enumerate(self.instrument.items, 1)}
        return [
            {
                "title": section.title if len(section.items) > 1 else "",
                "items": [(numbers[i.key], i, self[i.key]) for i in section.items],
            }
            for section in self.instrument.sections
        ]
