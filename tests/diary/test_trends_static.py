"""plotly.js is served from our own static files (closed hospital networks, no CDN), and its
global stylesheet is a static file so that the strict CSP need not allow inline styles."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders

from diary.trends.finders import PLOTLY_JS, PlotlyJsFinder
from diary.trends.plotly_css import ASSETS_TEMPLATE, CSS_FILE, installed_css, installed_maplibre


def test_plotly_js_is_found_in_the_installed_plotly_package():
    path = finders.find(PLOTLY_JS)
    assert path and path.endswith("plotly/package_data/plotly.min.js")
    assert PlotlyJsFinder().check() == []
    assert [name for name, _ in PlotlyJsFinder().list(None)] == ["plotly.min.js"]


@pytest.mark.django_db
def test_plotly_js_is_served_as_a_static_file(client):
    response = client.get(f"/static/{PLOTLY_JS}")
    assert response.status_code == 200
    assert b"plotly.js v" in b"".join(response.streaming_content)[:200]


def test_the_shipped_plotly_stylesheet_matches_the_installed_plotly_js():
    # Fails after a plotly upgrade until `python -m diary.trends.plotly_css` is run.
    assert CSS_FILE.read_text(encoding="utf-8") == installed_css()
    assert ".js-plotly-plot .plotly .main-svg{position:absolute;" in installed_css()


def test_the_page_stops_plotly_js_injecting_its_map_styles():
    # plotly.js's bundled map library injects a <style> (blocked by the CSP) unless an element
    # with its id exists; the id changes with plotly.js versions.
    style_id, _ = installed_maplibre()
    assert f'id="{style_id}"' in ASSETS_TEMPLATE.read_text(encoding="utf-8")
