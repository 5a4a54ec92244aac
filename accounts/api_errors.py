from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.request_limits import RequestTooLarge, max_body_bytes

logger = logging.getLogger("api")


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
