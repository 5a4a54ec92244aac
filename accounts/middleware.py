from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.http import urlencode

from accounts.request_context import current_request_id
from accounts.two_factor import needs_enrolment, needs_verification

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

# Prefixes whose clients read JSON: refusals there are JSON too.
_JSON_PREFIXES = ("/api/", "/fhir/")
_FORM_TYPE = "application/x-www-form-urlencoded"


def bad_request(request, message: str, status: int = 400) -> HttpResponse:
    """A refusal before any view ran: JSON for API clients, plain text for browsers."""
    if request.path_info.startswith(_JSON_PREFIXES):
        return JsonResponse({"detail": message}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def permissions_policy_header(policy: dict[str, list[str]]) -> str:
    """`{"camera": []}` -> `camera=()`; `{"fullscreen": ["self"]}` -> `fullscreen=(self)`."""
    return ", ".join(f"{feature}=({' '.join(allow)})" for feature, allow in policy.items())


class ResponseHeadersMiddleware:
    """Headers every response needs that Django does not add itself:

    - Permissions-Policy on every response (settings.PERMISSIONS_POLICY): the diary needs no
      camera, microphone, location or payment API, so no page, and nothing injected into one,
      may ask for them.
    - Cache-Control: no-store on every response to a signed-in person and on every API and FHIR
      response (token clients have no session): diary data never sits in a browser's or a
      proxy's cache. Static files keep their own long-lived caching.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = permissions_policy_header(settings.PERMISSIONS_POLICY)

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", self.policy)
        if self._private(request):
            add_never_cache_headers(response)
        return response

    @staticmethod
    def _private(request) -> bool:
        path = request.path_info
        if path.startswith(settings.STATIC_URL):
            return False
        if path.startswith(_JSON_PREFIXES) or "HTTP_AUTHORIZATION" in request.META:
            return True
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_authenticated)


class RequestGuardMiddleware:
    """Refuses requests no view can handle, before any of them runs (and so before the database
    sees them): a NUL byte in the path, the query string or a form body. PostgreSQL text cannot
    hold NUL, so letting one through turns a bad request into a server error.

    Early in the stack (after SecurityMiddleware, so that the refusal keeps its headers).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        problem = self._problem(request)
        if problem is not None:
            return bad_request(request, *problem)
        return self.get_response(request)

    @staticmethod
    def _problem(request) -> tuple[str, int] | None:
        if "\x00" in request.path_info or "\x00" in request.path:
            return "The address contains a NUL character, which is never valid here.", 400
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query:
            return "The query string contains a NUL character, which is never valid here.", 400
        if request.method == "POST" and request.content_type == _FORM_TYPE:
            try:
                body = request.body
            except RequestDataTooBig:
                return "The form is too large to accept.", 413
            if b"%00" in body or b"\x00" in body:
                return "The form contains a NUL character, which is never valid here.", 400
        return None


class RequestIdMiddleware:
    """Gives every request an id (the proxy's X-Request-ID when well-formed) for logs and audit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


# Pages reachable before two-factor: signing out, the two-factor pages themselves, account
# e-mail confirmation, static files, what the browser fetches by itself (the page scripts' words,
# the manifest, the service worker and its offline page: the same for everyone, and no use as
# an enrolment page) and the health check. The API checks two-factor itself
# (accounts.permissions.TwoFactorSatisfied) because token requests carry no session.
_EXEMPT_PREFIXES = (
    "/accounts/logout/",
    "/accounts/2fa/",
    "/accounts/confirm-email/",
    "/static/",
    "/jsi18n/",
    "/manifest.webmanifest",
    "/sw.js",
    "/offline/",
    "/healthz",
    "/api/",
)


class TwoFactorRequiredMiddleware:
    """Sends roles that need two-factor to enrolment or verification before any other page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(_EXEMPT_PREFIXES)
        ):
            if needs_enrolment(user):
                return redirect(_with_next(reverse("two_factor_enrol"), request))
            if needs_verification(user):
                return redirect(_with_next(reverse("two_factor_verify"), request))
        return self.get_response(request)


class UserLanguageMiddleware:
    """A signed-in person's chosen interface language (User.language, set in Settings) wins over
    the browser's Accept-Language that LocaleMiddleware negotiated; an empty choice, or a code
    no longer in settings.LANGUAGES, keeps the negotiated one. Read from the user row on every
    request, so a change takes effect at once, on every device and in every process."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        chosen = getattr(user, "language", "") if user is not None else ""
        if chosen and user.is_authenticated and chosen in dict(settings.LANGUAGES):
            # LocaleMiddleware (outside this one) then sends Content-Language for it.
            translation.activate(chosen)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


def _with_next(url: str, request) -> str:
    return f"{url}?{urlencode({'next': request.get_full_path()})}"
