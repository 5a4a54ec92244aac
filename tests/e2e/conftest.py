"""Browser test harness: Debian's Chromium driven by Playwright against pytest-django's live server.

Every page a test visits is checked with axe-core (WCAG 2.0/2.1 A and AA plus best practice) and
any violation fails the test; on narrow viewports the page must also not scroll sideways (WCAG
1.4.10 Reflow). Content-Security-Policy violations and JavaScript errors fail the test too, so the
strict CSP (no inline script or style) is exercised by a real browser.

Chromium or axe-core missing: the tests are skipped with the reason, except when CI=true, where
they fail (a CI run that silently skips the browser tests would prove nothing).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
AXE_JS = REPO / "node_modules" / "axe-core" / "axe.min.js"
# Screenshots are taken only when asked for (E2E_SCREENSHOTS=/tmp/shots), for a person to look at.
SHOTS = os.environ.get("E2E_SCREENSHOTS", "")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
# 200% browser zoom of a 1280 px window lays the page out in 640 CSS px at two device pixels
# per CSS pixel, which is what WCAG 1.4.4 (resize text) and 1.4.10 (reflow) ask to survive.
ZOOM_200 = {"width": 640, "height": 450}


def _missing_requirement() -> str | None:
    if not CHROMIUM.exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if not AXE_JS.exists():
        return f"axe-core not found at {AXE_JS} (run `npm install` or `make e2e-deps`)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install -e '.[dev]')"
    return None


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests cannot run under CI=true: {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


def pytest_collection_modifyitems(config, items):
    # Every test under tests/e2e must carry the e2e marker, so `-m "not e2e"` deselects them all.
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents and item.get_closest_marker("e2e") is None:
            raise pytest.UsageError(f"{item.nodeid} is a browser test without @pytest.mark.e2e")


@pytest.fixture(scope="package")
def browser() -> Iterator:
    """One Chromium for all the browser tests, closed after the last of them (package scope), so
    the rest of the suite runs without Playwright's event loop."""
    reason = _missing_requirement()
    if reason:
        _skip_or_fail(reason)
    with _async_unsafe_allowed():
        yield from _launch()


@contextlib.contextmanager
def _async_unsafe_allowed():
    # Playwright's sync API keeps an asyncio event loop running in this thread, and Django refuses
    # ORM calls from a thread with a running loop. The tests touch the ORM only to set up data and
    # read results, never at the same time as a request in this thread, so the guard is lifted
    # while the browser is open (and only then).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _launch() -> Iterator:
    from playwright.sync_api import sync_playwright

    # launch() gives Chromium a fresh temporary profile of its own (and refuses --user-data-dir),
    # so no state carries over from the user's browser or an earlier run.
    with sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=30_000
            )
        except Exception as exc:  # noqa: BLE001 - the reason is reported in the skip/fail
            _skip_or_fail(f"Chromium at {CHROMIUM} did not start: {exc}")
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Browse:
    """A page plus the checks every visited page must pass.

    Tests navigate through `goto`, `submit` and `click_through`, which wait for the new page and
    check it. As a safety net the page's load events are recorded too, and the fixture's teardown
    fails if any loaded page was never checked.
    """

    page: object
    base_url: str
    viewport: dict
    loaded: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def path(self) -> str:
        return self.page.url.removeprefix(self.base_url)

    def goto(self, path: str, *, expect_status: int | None = 200):
        response = self.page.goto(self.url(path))
        if expect_status is not None:
            assert response.status == expect_status, f"GET {path} answered {response.status}"
        self.check()
        return response

    def submit(self, name: str = "", *, button=None) -> None:
        """Press a submit button (by accessible name, or a given locator) and check the result."""
        if button is None:
            button = self.page.get_by_role("button", name=name, exact=True)
        target = button
        with self.page.expect_navigation():
            target.click()
        self.check()

    def click_through(self, locator) -> None:
        """Follow a link and check the page it leads to."""
        with self.page.expect_navigation():
            locator.click()
        self.check()

    def check(self) -> None:
        """axe-core on the current page, plus reflow on narrow viewports."""
        self.page.wait_for_load_state("load")
        violations = run_axe(self.page)
        if violations:
            pytest.fail(
                f"axe found {len(violations)} violation(s) on {self.path} at "
                f"{self.viewport['width']}px:\n{format_violations(violations)}",
                pytrace=False,
            )
        if self.viewport["width"] <= ZOOM_200["width"]:
            assert_no_horizontal_overflow(self.page, self.viewport["width"])
        self.checked.append(self.page.url)

    def screenshot(self, name: str) -> Path | None:
        if not SHOTS:
            return None
        target = Path(SHOTS) / f"{name}-{self.viewport['width']}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(target), full_page=True)
        return target


def run_axe(page) -> list[dict]:
    # page.add_script_tag would add an inline <script>, which our CSP (script-src 'self') rightly
    # blocks. Evaluating the library through the DevTools protocol is not subject to the page's
    # CSP, so the pages are tested under the real policy (no bypass_csp).
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    result = page.evaluate(
        """async (tags) => {
            const r = await window.axe.run(document, {
                runOnly: {type: 'tag', values: tags},
                resultTypes: ['violations'],
            });
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary})),
            }));
        }""",
        AXE_TAGS,
    )
    return result


_AXE_SOURCE: str | None = None


def _axe_source() -> str:
    global _AXE_SOURCE
    if _AXE_SOURCE is None:
        _AXE_SOURCE = AXE_JS.read_text(encoding="utf-8")
    return _AXE_SOURCE


def format_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- [{v['impact']}] {v['id']}: {v['help']}")
        for node in v["nodes"][:5]:
            summary = " ".join((node["summary"] or "").split())
            lines.append(f"    at {node['target']}: {summary}")
        if len(v["nodes"]) > 5:
            lines.append(f"    ... and {len(v['nodes']) - 5} more")
    return "\n".join(lines)


def assert_no_horizontal_overflow(page, width: int) -> None:
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    if scroll_width > width:
        wide = page.evaluate(
            """(w) => Array.from(document.querySelectorAll('body *'))
                .filter(e => e.getBoundingClientRect().right > w + 1)
                .slice(0, 5)
                .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                          + (e.className && typeof e.className === 'string'
                             ? '.' + e.className.trim().split(/\\s+/).join('.') : ''))""",
            width,
        )
        pytest.fail(
            f"{page.url} scrolls sideways at {width}px: scrollWidth={scroll_width}; "
            f"widest elements: {json.dumps(wide)}",
            pytrace=False,
        )


def _new_browse(browser, live_server, viewport: dict, scale: float = 1) -> Iterator[Browse]:
    context = browser.new_context(
        viewport=viewport, device_scale_factor=scale, locale="en-GB", timezone_id="Europe/London"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    browse = Browse(page=page, base_url=live_server.url, viewport=viewport)
    page.on("load", lambda p: browse.loaded.append(p.url))
    page.on("pageerror", lambda exc: browse.problems.append(f"JavaScript error: {exc}"))

    def on_console(msg):
        if msg.type == "error" and "Content Security Policy" in msg.text:
            browse.problems.append(f"CSP violation on {page.url}: {msg.text}")

    page.on("console", on_console)
    try:
        yield browse
        unchecked = [u for u in browse.loaded if u not in browse.checked]
        assert not unchecked, f"pages loaded but never checked with axe: {unchecked}"
        assert not browse.problems, "\n".join(browse.problems)
    finally:
        context.close()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness costs about a second per sign-in on a small machine; the
    # flows test pages and redirects, not the hasher (tests/accounts covers the real settings).
    # The live server runs in this process, so it sees the override.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def browse(browser, live_server) -> Iterator[Browse]:
    """A fresh browser context (no cookies) at desktop width."""
    yield from _new_browse(browser, live_server, DESKTOP)


VIEWPORTS = {
    "desktop-1280": (DESKTOP, 1),
    "phone-360": (PHONE, 1),
    "zoom-200": (ZOOM_200, 2),
}


@pytest.fixture(params=list(VIEWPORTS))
def any_browse(request, browser, live_server) -> Iterator[Browse]:
    """A fresh context at desktop width, at 360 px (a small phone) and at 200% zoom."""
    viewport, scale = VIEWPORTS[request.param]
    yield from _new_browse(browser, live_server, viewport, scale=scale)


@pytest.fixture
def open_browse(browser, live_server):
    """Opens further independent contexts (say, a patient and a clinician side by side); each
    gets the same checks as `browse`."""
    opened = []

    def make(viewport: dict = DESKTOP) -> Browse:
        gen = _new_browse(browser, live_server, viewport)
        opened.append(gen)
        return next(gen)

    yield make
    failures = []
    for gen in opened:
        try:
            next(gen)
        except StopIteration:
            pass
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n".join(failures)


@pytest.fixture
def page(browse):
    """The bare Playwright page of `browse`, for tests that only need the page."""
    return browse.page
