from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.views import defaults
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.request_limits import RequestTooLarge, max_body_bytes

logger = logging.getLogger("api")

# The same words as the HTML 404 page (templates/404.html).
NOT_FOUND_MESSAGE = "We could not find that page: check the address."


def exception_handler(exc, context):
    """DRF's handler, plus a log line for every refused request (never the request body)."""
    if isinstance(exc, RequestDataTooBig):
        # Django refuses to read a body over DATA_UPLOAD_MAX_MEMORY_SIZE; say so as JSON.
        exc = RequestTooLarge(f"The request body is larger than {max_body_bytes()} bytes.")
    response = drf_exception_handler(exc, context)
    if response is not None:
        request = context.get("request")
        logger.info(
            "api refused status=%s path=%s reason=%s",
            response.status_code,
            getattr(request, "path", "?"),
            type(exc).__name__,
        )
    return response


def page_not_found(request, exception):
    """handler404 (config/urls.py): an address under /api/ that no route matches (a day that
    is not a date, an id that is not a number) answers with the API's JSON error body, as
    its OpenAPI schema says; pages keep the HTML 404 page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": NOT_FOUND_MESSAGE}, status=404)
    return defaults.page_not_found(request, exception)
