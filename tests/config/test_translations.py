"""The shipped translations are complete and their compiled catalogues are current.

Fresh clones have no compile step, so each locale/<lang>/LC_MESSAGES/django.mo is committed
beside its .po; these tests fail when one was edited without recompiling the other
(`make messages` does both), or when an entry is untranslated or fuzzy."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale"
CATALOGUES = sorted(LOCALE.glob("*/LC_MESSAGES/django.po"))
MSGFMT = shutil.which("msgfmt")
needs_msgfmt = pytest.mark.skipif(MSGFMT is None, reason="GNU gettext's msgfmt is not installed")


def test_every_offered_language_but_the_source_has_a_catalogue():
    shipped = {po.parts[-3] for po in CATALOGUES}
    offered = {code for code, _name in settings.LANGUAGES if not code.startswith("en")}
    assert offered and offered <= shipped


@needs_msgfmt
@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: p.parts[-3])
def test_the_committed_mo_is_compiled_from_the_po(po, tmp_path):
    # The same command Django's compilemessages runs.
    fresh = tmp_path / "django.mo"
    subprocess.run([MSGFMT, "--check-format", "-o", str(fresh), str(po)], check=True)
    assert po.with_suffix(".mo").read_bytes() == fresh.read_bytes(), (
        f"{po.with_suffix('.mo')} is stale: run `make messages`"
    )


@needs_msgfmt
@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: p.parts[-3])
def test_no_entry_is_untranslated_or_fuzzy(po, tmp_path):
    result = subprocess.run(
        [MSGFMT, "--check", "--statistics", "-o", str(tmp_path / "x.mo"), str(po)],
        capture_output=True,
        text=True,
        check=True,
    )
    stats = result.stderr.strip()
    assert re.fullmatch(r"\d+ translated messages?\.", stats), stats
    assert int(stats.split()[0]) > 500


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: p.parts[-3])
def test_the_catalogue_has_no_fuzzy_header_or_entries(po):
    # Django ignores fuzzy entries (and a fuzzy header's plural rule) silently.
    assert "#, fuzzy" not in po.read_text(encoding="utf-8")
