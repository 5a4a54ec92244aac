"""The harness itself: axe really reports violations, the CSP really refuses inline code and the
harness reports it, and a missing browser fails a CI run instead of skipping it."""

from __future__ import annotations

import pytest

from tests.e2e import conftest as harness

pytestmark = pytest.mark.e2e


def test_axe_reports_what_is_wrong_on_a_page(browse):
    browse.goto("/accounts/login/")
    browse.page.evaluate(
        """() => {
            const main = document.querySelector('main');
            main.appendChild(document.createElement('img'));   // no alt text
            const input = document.createElement('input');     // no label
            main.appendChild(input);
        }"""
    )
    found = {v["id"] for v in harness.run_axe(browse.page)}
    assert {"image-alt", "label"} <= found
    report = harness.format_violations(harness.run_axe(browse.page))
    assert "image-alt" in report and "at img" in report


def test_inline_script_and_style_are_refused_and_reported(browse):
    browse.goto("/")
    browse.page.evaluate(
        """() => {
            const s = document.createElement('script');
            s.textContent = 'window.injected = true;';
            document.body.appendChild(s);
            document.querySelector('main').insertAdjacentHTML(
                'beforeend', '<p style="color: red">inline style</p>');
        }"""
    )
    browse.page.wait_for_timeout(100)  # console events arrive asynchronously
    assert browse.page.evaluate("() => window.injected === undefined")
    assert any("script" in p.lower() for p in browse.problems), browse.problems
    assert any("style" in p.lower() for p in browse.problems), browse.problems
    browse.problems.clear()  # reported as expected; the fixture's teardown would fail otherwise


def test_a_missing_browser_skips_locally_but_fails_under_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no chromium"):
        harness._skip_or_fail("no chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="cannot run under CI=true: no chromium"):
        harness._skip_or_fail("no chromium")


def test_a_missing_axe_core_is_named(monkeypatch, tmp_path):
    monkeypatch.setattr(harness, "AXE_JS", tmp_path / "axe.min.js")
    assert "axe-core not found" in harness._missing_requirement()
    monkeypatch.setattr(harness, "CHROMIUM", tmp_path / "chromium")
    assert "Chromium not found" in harness._missing_requirement()
