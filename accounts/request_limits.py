"""Limits on what a request may ask the server to parse: JSON depth and body size.

Python's json module recurses once per nesting level, so a body of a few thousand "[" raised
RecursionError (a 500) before any serializer saw it. Every JSON body from a client goes through
`json_loads` here (the DRF parser below, the FHIR Bulk Data endpoints): orjson parses in C with
its own hard limit, and the result is then walked without recursion to apply ours. No endpoint
of this project needs more than a handful of levels; MAX_JSON_DEPTH leaves room for FHIR.
"""

from __future__ import annotations

import orjson
from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 32


class JsonTooDeep(ValueError):
    def __init__(self, limit: int = MAX_JSON_DEPTH):
        super().__init__(f"JSON nested more than {limit} levels deep is not accepted.")


def max_body_bytes() -> int:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def json_depth_exceeds(value, limit: int) -> bool:
    """Whether arrays and objects nest deeper than `limit` (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def json_loads(data: bytes | str, *, max_depth: int = MAX_JSON_DEPTH):
    """Parse JSON text (RFC 8259: UTF-8, no NaN, no lone surrogates) within the depth limit.

    Raises JsonTooDeep or another ValueError (orjson.JSONDecodeError) with a readable message.
    """
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc) or "recursion" in str(exc).lower():
            raise JsonTooDeep(max_depth) from exc
        raise
    if json_depth_exceeds(value, max_depth):
        raise JsonTooDeep(max_depth)
    return value


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"


class LimitedJSONParser(JSONParser):
    """DRF's JSON parser with a size limit (read before parsing) and the depth limit."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = max_body_bytes()
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise RequestTooLarge(f"The request body is larger than {limit} bytes.")
        try:
            return json_loads(body)
        except JsonTooDeep as exc:
            raise ParseError(str(exc)) from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
