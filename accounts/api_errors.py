from __future__ import annotations

import logging

from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger("api")


def exception_handler(exc, context):
    """DRF's handler, plus a log line for every refused request (never the request body)."""
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
