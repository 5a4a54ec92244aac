"""The plotly.js the pages load: the partial "basic" bundle (scatter, bar and pie traces, with
shapes and annotations), committed as a static file so that `make run` needs no npm and no CDN.

The full bundle that the plotly Python package ships is 4.9 MB (1.4 MB gzipped); our charts
only use scatter traces, shapes and annotations, which the basic bundle (1.1 MB, 0.37 MB
gzipped) has. Whitenoise serves it, compressed by CompressedManifestStaticFilesStorage in
production. Its version must match the plotly.js the Python package builds figures for
(tests/diary/test_trends_static.py checks it).

Update after upgrading plotly (the npm package of the same plotly.js version):
    npm install --no-save plotly.js-basic-dist-min@<version of plotly.js in the plotly wheel>
    python -m diary.trends.plotly_css --update
"""

from __future__ import annotations

import re
from pathlib import Path

import plotly

REPO = Path(__file__).resolve().parents[2]
PLOTLY_JS = "vendor/plotly/plotly-basic.min.js"  # the static path the templates use
BUNDLE_FILE = REPO / "static" / PLOTLY_JS
NPM_BUNDLE = REPO / "node_modules" / "plotly.js-basic-dist-min" / "plotly-basic.min.js"
# The full bundle, for the benchmark's baseline only (bench/bench_pages.py); never served.
FULL_BUNDLE = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"

_VERSION = re.compile(r"plotly\.js(?: \([^)]*\))? v(\d+\.\d+\.\d+)")


def bundle_version(path: Path) -> str:
    """The plotly.js version in a bundle's header ("plotly.js (basic - minified) v3.7.0")."""
    with path.open(encoding="utf-8") as handle:
        found = _VERSION.search(handle.read(300))
    if found is None:
        raise ValueError(f"{path}: no plotly.js version in its header")
    return found.group(1)
