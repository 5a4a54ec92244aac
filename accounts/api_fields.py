"""Request fields that read JSON as its schema says (issue 16): DRF's CharField also takes a
number (`"note": 0` became "0"), so a request the OpenAPI schema calls invalid was stored."""

from __future__ import annotations

from django.http import QueryDict
from rest_framework import serializers


def _from_json(field: serializers.Field) -> bool:
    """True when the request body was JSON (a form post's values are all text)."""
    return not isinstance(getattr(field.root, "initial_data", None), QueryDict)


class StrictCharField(serializers.CharField):
    """A CharField that takes only JSON strings (form posts send strings anyway)."""

    default_error_messages = {"invalid": "Must be text (a JSON string)."}

    def to_internal_value(self, data):
        if not isinstance(data, str) and _from_json(self):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A BooleanField that takes only JSON true or false from JSON (DRF also takes 0, 1,
    "yes"...); a form post's "true" and "on" still count."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if not _from_json(self):
            return super().to_internal_value(data)
        if not isinstance(data, bool):
            self.fail("invalid")
        return data
