"""The OpenAPI schema documents every answer an endpoint can give, errors included (issue 16).

drf-spectacular documents the success responses a view declares. Every refusal comes from the
same few places (accounts.api_errors.exception_handler, DRF's authentication, permission,
throttling and parsing), with one of two bodies:

- `Error`: `{"detail": "..."}` for a refusal of the whole request (401, 403, 404, 405, 409,
  412, 413, 415, 429, and a 400 for a body that is not JSON);
- `ValidationError`: `{"<field>": ["message", ...], ...}` for a 400 about particular fields
  (`non_field_errors` for the request as a whole), as DRF's serializers give them.

`ApiSchema` adds the refusals that apply to each operation (the ones a view already declares
win), so a client, and schemathesis in tests/api/test_contract.py, knows every status code.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny

from accounts.api_fields import StrictCharField

ERROR_SCHEMA = {
    "type": "object",
    "description": "A refusal of the whole request, with a message for people.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": "What is wrong with the request, per field (`non_field_errors` or `detail` "
    "for the request as a whole); nested fields nest the same way.",
    "additionalProperties": {
        "anyOf": [
            {"type": "array", "items": {}},
            {"type": "object"},
            {"type": "string"},
        ]
    },
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
VALIDATION_ERROR_REF = {"$ref": "#/components/schemas/ValidationError"}


def add_error_components(result, generator, request, public):
    """drf-spectacular post-processing hook (SPECTACULAR_SETTINGS, config/settings.py): the
    two error bodies the refusals refer to."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    schemas["ValidationError"] = VALIDATION_ERROR_SCHEMA
    return result


DESCRIPTIONS = {
    "400": "The request is malformed or a field is not valid; nothing was changed.",
    "401": "No credentials, or an invalid, expired or revoked token.",
    "403": "Signed in, but this account may not do this (role, or two-factor not satisfied).",
    "404": "No such object, or not one this account may see.",
    "413": "The request body is larger than the server accepts.",
    "415": "The request body is not in a media type the endpoint reads (send JSON).",
    "429": "Too many requests: wait for the number of seconds in the Retry-After header.",
}
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def error_response(code: str | int, description: str | None = None) -> OpenApiResponse:
    """A documented refusal with the project's error body, for a view's extend_schema."""
    code = str(code)
    schema = VALIDATION_ERROR_REF if code == "400" else ERROR_REF
    return OpenApiResponse(schema, description=description or DESCRIPTIONS.get(code, ""))


class ApiSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus the refusals each operation can answer with."""

    def map_parsers(self):
        """JSON where the view reads JSON (forms stay readable but undocumented), else what
        the view reads (a file upload's multipart)."""
        parsers = self.view.get_parsers()
        json = [p.media_type for p in parsers if isinstance(p, JSONParser)]
        return json or list(dict.fromkeys(p.media_type for p in parsers))

    def _get_serializer_field_meta(self, field, direction):
        meta = super()._get_serializer_field_meta(field, direction)
        if (
            direction == "request"
            and type(field) in (serializers.CharField, StrictCharField)
            and not field.allow_blank
            and field.trim_whitespace
        ):
            # DRF strips the text before the blank check, so "   " is as blank as "": the
            # text must hold something other than white space (a search, not anchored).
            meta.setdefault("pattern", r"\S")
        return meta

    def _get_request_body(self, direction="request"):
        # drf-spectacular documents bodies of POST, PUT and PATCH only; a DELETE that reads
        # one (erasure's password, a push subscription's endpoint) declares it with
        # extend_schema(request=...), and the schema must say so or clients cannot send it.
        if self.method == "DELETE" and self._declares_request():
            self.method = "POST"
            try:
                return super()._get_request_body(direction)
            finally:
                self.method = "DELETE"
        return super()._get_request_body(direction)

    def _declares_request(self) -> bool:
        return self.get_request_serializer() is not None

    def _get_serializer(self):
        # A plain APIView declares its bodies with extend_schema; there is nothing to guess
        # (drf-spectacular would log an error for each method that has no body).
        if not hasattr(self.view, "get_serializer") and not hasattr(self.view, "serializer_class"):
            return None
        return super()._get_serializer()

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._refusal_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(error_response(code), code)
        return responses

    def _refusal_codes(self) -> list[str]:
        codes = []
        if self._has_input():
            codes.append("400")
        if self._needs_authentication():
            codes += ["401", "403"]
        if self._path_parameters() or self._paginated():
            codes.append("404")  # no such object; or a page past the last one
        if self._reads_body():
            codes += ["413", "415"]
        if self.view.get_throttles():
            codes.append("429")
        return codes

    def _needs_authentication(self) -> bool:
        return not all(isinstance(p, AllowAny) for p in self.view.get_permissions())

    def _path_parameters(self) -> list:
        return [p for p in self._get_parameters() if p.get("in") == "path"]

    def _paginated(self) -> bool:
        return any(p.get("name") == "page" for p in self._get_parameters())

    def _has_input(self) -> bool:
        query = [p for p in self._get_parameters() if p.get("in") in ("query", "header")]
        return bool(query) or self._reads_body()

    def _reads_body(self) -> bool:
        if self.method == "DELETE":
            return self._declares_request()
        return self.method in BODY_METHODS and self.get_request_serializer() is not None
