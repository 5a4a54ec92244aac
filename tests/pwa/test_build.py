"""The committed service worker and page script match their sources (pwa/js/, built by
`npm run build:sw`): always through the source hash each build records, and byte for byte
against a fresh build where npm's packages are installed."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = REPO / "pwa" / "js"
BUILT = ("sw.js", "pwa.js")


def source_hash() -> str:
    # The same digest as sourceHash() in pwa/js/build.mjs.
    digest = hashlib.sha256()
    for path in sorted(p for p in SOURCES.iterdir() if p.suffix in {".js", ".mjs"}):
        digest.update(f"pwa/js/{path.name}\0".encode())
        digest.update(path.read_bytes())
        digest.update(b"\0")
    digest.update(b"package-lock.json\0")
    digest.update((REPO / "package-lock.json").read_bytes())
    return digest.hexdigest()


@pytest.mark.parametrize("name", BUILT)
def test_committed_build_records_the_current_sources(name):
    first_line = (REPO / "static" / "pwa" / name).read_text(encoding="utf-8").split("\n", 1)[0]
    recorded = re.search(r"sources-sha256: ([0-9a-f]{64})", first_line)
    assert recorded, f"static/pwa/{name} has no source hash: rebuild with `npm run build:sw`"
    assert recorded.group(1) == source_hash(), (
        f"static/pwa/{name} was built from other sources: run `npm run build:sw` and commit it"
    )


def test_a_fresh_build_is_identical_to_the_committed_one(tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: only the recorded source hash is checked")
    if not (REPO / "node_modules" / "esbuild").exists():
        pytest.skip("npm packages are not installed (npm install): only the source hash is checked")
    subprocess.run(
        [node, str(SOURCES / "build.mjs"), str(tmp_path)], check=True, cwd=REPO, timeout=120
    )
    for name in BUILT:
        fresh = (tmp_path / name).read_bytes()
        committed = (REPO / "static" / "pwa" / name).read_bytes()
        assert fresh == committed, f"static/pwa/{name} differs from a fresh build"
