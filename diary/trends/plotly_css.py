"""plotly.js's global stylesheet as a static file, so the charts work under a strict CSP.

plotly.js normally injects its global CSS rules into a <style> element at load time, which our
Content-Security-Policy (style-src 'self', no 'unsafe-inline') blocks. Since plotly.js 2.35
(plotly/plotly.js#7109) it skips the injection when the page already has an element with the id
"plotly.js-style-global" and the class "no-inline-styles", so we ship those rules as
static/diary/plotly-global.css, extracted from the plotly.js bundle the pages load
(diary/trends/plotly_bundle.py).

Regenerate after upgrading plotly:  python -m diary.trends.plotly_css [--update]
(--update first copies the npm bundle into static/; see plotly_bundle.py).
(tests/diary/test_trends_static.py fails while the file and the installed plotly.js differ).
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

from diary.trends.plotly_bundle import BUNDLE_FILE, NPM_BUNDLE

CSS_FILE = Path(__file__).resolve().parents[2] / "static" / "diary" / "plotly-global.css"
ASSETS_TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "diary" / "trends_assets.html"

# The bundled maplibre (map traces) injects its own <style> at load time unless an element with
# this id exists: `if(!document.getElementById("<id>")){var e=document.createElement("style")...`
# We draw no maps, so trends_assets.html carries a <meta> with that id instead of the styles.
_MAPLIBRE = re.compile(
    r'if\(!document\.getElementById\("([0-9a-f]{16,})"\)\)\{var (\w+)=document\.createElement'
    r'\("style"\);\2\.id="\1",\2\.textContent=`([^`]*)`'
)

# plotly.js: `for(k in rules) sel = k.replace(/^,/," ,").replace(/X/g,"<X>").replace(/Y/g,"<Y>")`
_LOOP = re.compile(
    r'for\((\w+) in (\w+)\)\w+=\1\.replace\(/\^,/," ,"\)'
    r'\.replace\(/X/g,"([^"]+)"\)\.replace\(/Y/g,"([^"]+)"\)'
)
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'')
_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'|([A-Za-z_$][\w$]*)')


def _unescape(text: str) -> str:
    return text.encode().decode("unicode_escape") if "\\" in text else text


def _object_literal(js: str, name: str, before: int) -> list[tuple[str, str]]:
    """Parse `name={"k":"v",...}` (string keys and values only), the last one before `before`."""
    start = js.rfind(f"{name}={{", 0, before)
    if start < 0:
        raise ValueError(f"plotly.js: no object literal {name} before the style loop")
    pos = start + len(name) + 2
    pairs = []
    while js[pos] != "}":
        key = _KEY.match(js, pos)  # the minifier drops the quotes of keys like Y
        if key is None or js[key.end()] != ":":
            raise ValueError(f"plotly.js: unexpected text at {pos} in the style rules")
        value = _STRING.match(js, key.end() + 1)
        if value is None:
            raise ValueError(f"plotly.js: unexpected value at {key.end() + 1} in the style rules")
        name_ = key.group(1) or key.group(2) or key.group(3) or ""
        pairs.append((_unescape(name_), _unescape(value.group(1) or value.group(2) or "")))
        pos = value.end()
        if js[pos] == ",":
            pos += 1
    return pairs


def extract_css(js: str) -> str:
    loop = _LOOP.search(js)
    if loop is None:
        raise ValueError("plotly.js: the global style loop was not found")
    _, rules_name, x_sel, y_sel = loop.groups()
    rules = _object_literal(js, rules_name, loop.start())
    lines = [
        "/* plotly.js global styles, extracted from the served plotly.js bundle by",
        "   diary/trends/plotly_css.py; do not edit by hand. */",
    ]
    for selector, declarations in rules:
        selector = re.sub(r"^,", " ,", selector).replace("X", x_sel).replace("Y", y_sel)
        lines.append(f"{selector}{{{declarations}}}")
    return "\n".join(lines) + "\n"


def extract_maplibre(js: str) -> tuple[str, str]:
    """(element id, CSS) of the maplibre stylesheet plotly.js would inject."""
    found = _MAPLIBRE.search(js)
    if found is None:
        raise ValueError("plotly.js: the maplibre style injection was not found")
    return found.group(1), found.group(3).strip() + "\n"


def _installed_js() -> str:
    return BUNDLE_FILE.read_text(encoding="utf-8")


def installed_css() -> str:
    return extract_css(_installed_js())


def installed_maplibre() -> tuple[str, str]:
    return extract_maplibre(_installed_js())


if __name__ == "__main__":
    if "--update" in sys.argv:
        shutil.copyfile(NPM_BUNDLE, BUNDLE_FILE)
        sys.stdout.write(f"copied {NPM_BUNDLE} to {BUNDLE_FILE}\n")
    CSS_FILE.write_text(installed_css(), encoding="utf-8")
    sys.stdout.write(f"wrote {CSS_FILE}\n")
    style_id, _ = installed_maplibre()
    sys.stdout.write(f'check that {ASSETS_TEMPLATE} has the <meta id="{style_id}">\n')
