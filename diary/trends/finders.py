"""Serve plotly.js from the plotly Python package as a static file (never from a CDN).

The plotly wheel ships the matching plotly.min.js in plotly/package_data/. This finder exposes
only that one file, as `vendor/plotly/plotly.min.js`, so that whitenoise serves it in development
and `collectstatic` copies it for production, and the browser library always matches the version
of the package that built the figures.
"""

from __future__ import annotations

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Error
from django.core.files.storage import FileSystemStorage

PLOTLY_JS = "vendor/plotly/plotly.min.js"
_PREFIX, _, _NAME = PLOTLY_JS.rpartition("/")
_SOURCE_DIR = Path(plotly.__file__).resolve().parent / "package_data"


class PlotlyJsFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        self.storage = FileSystemStorage(location=str(_SOURCE_DIR))
        self.storage.prefix = _PREFIX

    def check(self, **kwargs):
        if not (_SOURCE_DIR / _NAME).is_file():
            return [Error(f"{_SOURCE_DIR / _NAME} is missing: reinstall plotly.", id="diary.E001")]
        return []

    def find(self, path, find_all=False, **kwargs):
        if path == PLOTLY_JS and (_SOURCE_DIR / _NAME).is_file():
            found = str(_SOURCE_DIR / _NAME)
            return [found] if find_all or kwargs.get("all") else found
        return [] if find_all or kwargs.get("all") else None

    def list(self, ignore_patterns):
        if (_SOURCE_DIR / _NAME).is_file():
            yield _NAME, self.storage
