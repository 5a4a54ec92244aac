"""plotly.js is served from our own static files (closed hospital networks, no CDN) as the
partial "basic" bundle, and its global stylesheet is a static file so that the strict CSP need
not allow inline styles."""

from __future__ import annotations

import gzip

import pytest
from django.contrib.staticfiles import finders

from diary.trends.plotly_bundle import BUNDLE_FILE, FULL_BUNDLE, PLOTLY_JS, bundle_version
from diary.trends.plotly_css import ASSETS_TEMPLATE, CSS_FILE, installed_css, installed_maplibre


def test_the_basic_bundle_is_a_committed_static_file():
    path = finders.find(PLOTLY_JS)
    assert path and str(path) == str(BUNDLE_FILE)
    assert "basic" in BUNDLE_FILE.read_text(encoding="utf-8")[:200]


def test_the_basic_bundle_matches_the_plotly_js_the_python_package_builds_figures_for():
    # Fails after a plotly upgrade until the bundle is updated (diary/trends/plotly_bundle.py).
    assert bundle_version(BUNDLE_FILE) == bundle_version(FULL_BUNDLE)


def test_the_basic_bundle_is_much_smaller_than_the_full_one():
    assert BUNDLE_FILE.stat().st_size < FULL_BUNDLE.stat().st_size / 3


@pytest.mark.django_db
def test_plotly_js_is_served_as_a_static_file_and_compressed(client):
    response = client.get(f"/static/{PLOTLY_JS}")
    assert response.status_code == 200
    assert b"plotly.js (basic - minified) v" in b"".join(response.streaming_content)[:200]
    zipped = client.get(f"/static/{PLOTLY_JS}", HTTP_ACCEPT_ENCODING="gzip")
    assert zipped.status_code == 200
    assert zipped["Content-Encoding"] == "gzip"
    body = gzip.decompress(b"".join(zipped.streaming_content))
    assert body == BUNDLE_FILE.read_bytes()


@pytest.mark.django_db
def test_the_full_plotly_bundle_is_not_served(client):
    assert client.get("/static/vendor/plotly/plotly.min.js").status_code == 404


def test_the_shipped_plotly_stylesheet_matches_the_served_plotly_js():
    # Fails after a plotly upgrade until `python -m diary.trends.plotly_css` is run.
    assert CSS_FILE.read_text(encoding="utf-8") == installed_css()
    assert ".js-plotly-plot .plotly .main-svg{position:absolute;" in installed_css()


def test_the_page_stops_plotly_js_injecting_its_map_styles():
    # plotly.js's bundled map library injects a <style> (blocked by the CSP) unless an element
    # with its id exists; the id changes with plotly.js versions.
    style_id, _ = installed_maplibre()
    assert f'id="{style_id}"' in ASSETS_TEMPLATE.read_text(encoding="utf-8")
