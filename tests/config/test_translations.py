"""The shipped translations are complete and their compiled catalogues are current.

Both domains: django (code and templates) and djangojs (the page scripts' gettext() calls,
served by the JavaScript catalogue). Fresh clones have no compile step, so each
locale/<lang>/LC_MESSAGES/<domain>.mo is committed beside its .po; these tests fail when one
was edited without recompiling the other (`make messages` does both), or when an entry is
untranslated or fuzzy."""

from __future__ import annotations

import gettext
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale"
CATALOGUES = sorted(LOCALE.glob("*/LC_MESSAGES/*.po"))
DOMAINS = ("django", "djangojs")
# The fewest entries a complete catalogue of each domain has (a lost catalogue shows up here).
FEWEST = {"django": 500, "djangojs": 40}
# The page scripts whose words are the djangojs domain (the sources, not the built bundles).
ROOT = Path(settings.BASE_DIR)
PAGE_SCRIPTS = sorted(ROOT.glob("pwa/js/*.js")) + [ROOT / "static/reminders/push.js"]
MSGFMT = shutil.which("msgfmt")
needs_msgfmt = pytest.mark.skipif(MSGFMT is None, reason="GNU gettext's msgfmt is not installed")


def catalogue_id(po: Path) -> str:
    return f"{po.parts[-3]}-{po.stem}"


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_offered_language_but_the_source_has_a_catalogue(domain):
    shipped = {po.parts[-3] for po in CATALOGUES if po.stem == domain}
    offered = {code for code, _name in settings.LANGUAGES if not code.startswith("en")}
    assert offered and offered <= shipped


def _script_messages() -> set[str]:
    """Every gettext("…") / ngettext("…", "…", n) literal in the page scripts' sources."""
    literal = r'"((?:[^"\\]|\\.)*)"'
    found: set[str] = set()
    for script in PAGE_SCRIPTS:
        text = script.read_text(encoding="utf-8")
        for match in re.finditer(r"\bgettext\(\s*" + literal, text):
            found.add(match.group(1).replace('\\"', '"'))
        for match in re.finditer(r"\bngettext\(\s*" + literal + r"\s*,\s*" + literal, text):
            found.add(match.group(1).replace('\\"', '"'))
    return found


@pytest.mark.parametrize(
    "mo", sorted(LOCALE.glob("*/LC_MESSAGES/djangojs.mo")), ids=lambda p: p.parts[-3]
)
def test_every_page_script_string_is_in_the_javascript_catalogue(mo):
    messages = _script_messages()
    assert "Saved on this device" in messages and len(messages) >= FEWEST["djangojs"]
    with mo.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    translated = {key if isinstance(key, str) else key[0] for key in catalogue._catalog}
    missing = sorted(messages - translated)
    assert not missing, f"not in {mo} (run `make messages` and translate): {missing}"


@needs_msgfmt
@pytest.mark.parametrize("po", CATALOGUES, ids=catalogue_id)
def test_the_committed_mo_is_compiled_from_the_po(po, tmp_path):
    # The same command Django's compilemessages runs.
    fresh = tmp_path / f"{po.stem}.mo"
    subprocess.run([MSGFMT, "--check-format", "-o", str(fresh), str(po)], check=True)
    assert po.with_suffix(".mo").read_bytes() == fresh.read_bytes(), (
        f"{po.with_suffix('.mo')} is stale: run `make messages`"
    )


@needs_msgfmt
@pytest.mark.parametrize("po", CATALOGUES, ids=catalogue_id)
def test_no_entry_is_untranslated_or_fuzzy(po, tmp_path):
    result = subprocess.run(
        [MSGFMT, "--check", "--statistics", "-o", str(tmp_path / "x.mo"), str(po)],
        capture_output=True,
        text=True,
        check=True,
    )
    stats = result.stderr.strip()
    assert re.fullmatch(r"\d+ translated messages?\.", stats), stats
    assert int(stats.split()[0]) > FEWEST[po.stem]


@pytest.mark.parametrize("po", CATALOGUES, ids=catalogue_id)
def test_the_catalogue_has_no_fuzzy_header_or_entries(po):
    # Django ignores fuzzy entries (and a fuzzy header's plural rule) silently.
    assert "#, fuzzy" not in po.read_text(encoding="utf-8")
