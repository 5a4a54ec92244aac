"""The installable app: web app manifest, service worker and offline page (issue 12).

All three are served by the app itself from the site root (a service worker controls only the
pages under its own path, so /sw.js controls the whole site without a Service-Worker-Allowed
header). The worker is built from pwa/js/ with Workbox and esbuild (`npm run build:sw`) into
static/pwa/sw.js, which is committed: running the app needs no npm.
"""

from __future__ import annotations

import hashlib
import json

from django.contrib.auth.models import AnonymousUser
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import get_template
from django.templatetags.static import static
from django.views.decorators.http import require_GET

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
    return entries


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
