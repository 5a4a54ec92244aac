from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import (
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
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


def _bad_request_reason(exception) -> str | None:
    """What was wrong with a request Django refused before any view ran, in words a person can
    act on; None for the other refusals (their reason is not for the visitor)."""
    if isinstance(exception, TooManyFilesSent):
        return _(
            "This upload has more files than one upload may carry (at most %(limit)s). "
            "Send the series as one zip file, or check that it is one series."
        ) % {"limit": settings.DATA_UPLOAD_MAX_NUMBER_FILES}
    if isinstance(exception, TooManyFieldsSent):
        return _("This form sent more fields than allowed (at most %(limit)s).") % {
            "limit": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        }
    if isinstance(exception, RequestDataTooBig):
        return _("This request is larger than allowed (at most %(limit)s bytes).") % {
            "limit": max_body_bytes()
        }
    return None


def bad_request(request, exception):
    """handler400 (config/urls.py): the reason, when it is one the sender can fix (too many
    files in an upload, too many fields, too large), as JSON under /api/ and on the 400 page
    otherwise. Nothing was stored: the request was refused before its view ran."""
    reason = _bad_request_reason(exception)
    logger.info(
        "request refused status=400 path=%s reason=%s", request.path, type(exception).__name__
    )
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": reason or _("The request could not be read.")}, status=400)
    return render(request, "400.html", {"reason": reason}, status=400)
