"""URL includes of the feature apps, found by convention so each app owns its own routes.

An app with `urls.py` is mounted at /<prefix>/ under its namespace; one with `api_urls.py` is
mounted under /api/v1/.
"""

from importlib import import_module
from importlib.util import find_spec

from django.urls import include, path

FEATURE_APPS = {
    "diary": "diary/",
    "consent": "consent/",
    "registry_export": "exports/",
    "imaging": "imaging/",
    "clinic": "clinic/",
    "reminders": "reminders/",
}


def _has(module: str) -> bool:
    return find_spec(module) is not None


def page_patterns():
    return [
        path(prefix, include((f"{app}.urls", app), namespace=app))
        for app, prefix in FEATURE_APPS.items()
        if _has(f"{app}.urls")
    ]


def api_patterns():
    return [
        path("api/v1/", include(import_module(f"{app}.api_urls")))
        for app in FEATURE_APPS
        if _has(f"{app}.api_urls")
    ]
