"""The installable app: web app manifest, service worker and offline page (issue 12).

All three are served by the app itself from the site root (a service worker controls only the
pages under its own path, so /sw.js controls the whole site without a Service-Worker-Allowed
header). The worker is built from pwa/js/ with Workbox and esbuild (`npm run build:sw`) into
static/pwa/sw.js, which is committed: running the app needs no npm.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import django
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import get_template
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.views.decorators.http import etag, require_GET
from django.views.i18n import JavaScriptCatalog

from pwa import manifest as app_manifest

SERVICE_WORKER = "pwa/sw.js"
# The app shell the worker precaches: every page's stylesheet and scripts, the day page's own
# stylesheet and script, and the icons. Other static files are cached the first time they load.
SHELL_FILES = (
    "css/site.css",
    "pwa/pwa.css",
    "pwa/pwa.js",
    "diary/diary.css",
    "diary/day_form.js",
    "pwa/icon-192.png",
    "pwa/icon-512.png",
)
OFFLINE_TEMPLATE = "pwa/offline.html"
# Workbox's build tools replace this marker with the precache list; here the view does, so the
# list names the deployed URLs (hashed file names under ManifestStaticFilesStorage).
PRECACHE_MARKER = "self.__WB_MANIFEST"
# The words of the page scripts (djangojs domain, locale/<lang>/LC_MESSAGES/djangojs.po): only
# the project's own catalogues (LOCALE_PATHS; these apps ship none of their own), never Django's
# or a third party's.
CATALOG_PACKAGES = ["pwa", "reminders"]
CATALOG_CACHE_SECONDS = 24 * 3600
_javascript_catalog = JavaScriptCatalog.as_view(packages=CATALOG_PACKAGES)


@require_GET
def manifest(request: HttpRequest) -> HttpResponse:
    body = json.dumps(app_manifest.build(), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/manifest+json; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


def _file_revision(path: str) -> str:
    found = finders.find(path)
    if not found:
        raise FileNotFoundError(path)
    with open(found, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()[:20]


def precache_entries() -> list[dict]:
    entries = [{"url": static(path), "revision": _file_revision(path)} for path in SHELL_FILES]
    # The offline page changes with its template and the stylesheet it uses.
    source = get_template(OFFLINE_TEMPLATE).template.source.encode()
    revision = hashlib.sha256(source + entries[0]["revision"].encode()).hexdigest()[:20]
    entries.append({"url": "/offline/", "revision": revision})
    # Every language's catalogue, so a page kept on the device has its words offline too.
    for code, _name in settings.LANGUAGES:
        entries.append({"url": catalog_url(code), "revision": catalog_revision(code)})
    return entries


def catalog_url(language: str | None = None) -> str:
    """The catalogue of `language` (default: the active one, or the site's if not offered)."""
    language = language or translation.get_language()
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    return reverse("pwa:javascript_catalog", args=[language])


def catalog_revision(language: str) -> str:
    """Changes when the language's compiled catalogue (or Django's catalogue script) does."""
    digest = hashlib.sha256(f"{language}\0{django.get_version()}\0".encode())
    for base in settings.LOCALE_PATHS:
        compiled = Path(base) / translation.to_locale(language) / "LC_MESSAGES" / "djangojs.mo"
        if compiled.exists():
            digest.update(compiled.read_bytes())
    return digest.hexdigest()[:20]


def _catalog_etag(request: HttpRequest, language: str) -> str | None:
    return catalog_revision(language) if language in dict(settings.LANGUAGES) else None


@require_GET
@etag(_catalog_etag)
def javascript_catalog(request: HttpRequest, language: str) -> HttpResponse:
    """Django's JavaScript catalogue (gettext, ngettext, interpolate) in the language named by
    the URL, so each URL always holds the same words: the worker precaches each language's, and
    the page names the patient's. Built once per language and revision, then cached."""
    if language not in dict(settings.LANGUAGES):
        raise Http404("No such language.")
    key = f"pwa:jsi18n:{language}:{catalog_revision(language)}"
    body = cache.get(key)
    if body is None:
        with translation.override(language):
            body = _javascript_catalog(request).content
        cache.set(key, body, CATALOG_CACHE_SECONDS)
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    # Revalidated each time (the ETag answers 304): a deploy's new words reach the page at once.
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    found = finders.find(SERVICE_WORKER)
    if not found:
        raise Http404("The service worker is not built (npm run build:sw).")
    with open(found, encoding="utf-8") as handle:
        script = handle.read()
    if PRECACHE_MARKER not in script:
        raise Http404("The service worker build has no precache marker.")
    script = script.replace(PRECACHE_MARKER, json.dumps(precache_entries()), 1)
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    # Browsers check for a new worker on navigation; no-cache makes each check reach the server,
    # so a deploy reaches every installed app.
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def offline(request: HttpRequest) -> HttpResponse:
    """The page the worker shows for a page not kept on the device. Precached, so rendered
    as for nobody in particular: no name, no patient data."""
    context = {"user": AnonymousUser(), "nav_links": [], "messages": [], "pwa_offline_page": True}
    return render(request, OFFLINE_TEMPLATE, context)
