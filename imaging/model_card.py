"""Model cards (bundles/<name>/docs/README.md) as HTML, so that nobody reads raw Markdown.

A deliberately small Markdown subset, the one the cards use: headings, paragraphs, bullet
lists, bold, italics, inline code, fenced code blocks and pipe tables. Every piece of text is
HTML-escaped before any markup is added, so a bundle dropped in by a site cannot inject HTML
or script (the output is then marked safe)."""

from __future__ import annotations

import re
from html import escape

from django.utils.safestring import SafeString, mark_safe

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])")
_CODE = re.compile(r"`([^`]+)`")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def _inline(text: str) -> str:
    text = escape(text, quote=False)
    parts = _CODE.split(text)  # odd indexes are code spans: no emphasis inside them
    for i, part in enumerate(parts):
        if i % 2:
            parts[i] = f"<code>{part}</code>"
        else:
            parts[i] = _ITALIC.sub(r"<em>\1</em>", _BOLD.sub(r"<strong>\1</strong>", part))
    return "".join(parts)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _table(lines: list[str]) -> str:
    head, body = _cells(lines[0]), [_cells(line) for line in lines[2:]]
    out = ['<div class="table-wrap" tabindex="0" role="region" aria-label="Table">']
    out.append("<table><thead><tr>")
    out += [f'<th scope="col">{_inline(c)}</th>' for c in head]
    out.append("</tr></thead><tbody>")
    for row in body:
        out.append("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def render_markdown(text: str, *, top_level: int = 2) -> SafeString:
    """HTML of a model card. `top_level`: the HTML heading level of a "#" heading (the page
    has its own <h1>)."""
    lines = text.splitlines()
    html: list[str] = []
    paragraph: list[str] = []
    i = 0

    def flush() -> None:
        if paragraph:
            html.append(f"<p>{_inline(' '.join(paragraph))}</p>")
            paragraph.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            end = i + 1
            while end < len(lines) and not lines[end].strip().startswith("```"):
                end += 1
            code = escape("\n".join(lines[i + 1 : end]), quote=False)
            html.append(f"<pre><code>{code}</code></pre>")
            i = end + 1
            continue
        heading = _HEADING.match(stripped)
        if heading:
            flush()
            level = min(6, len(heading.group(1)) + top_level - 1)
            html.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif stripped.startswith(("- ", "* ")):
            flush()
            items = []
            while i < len(lines) and lines[i].strip().startswith(("- ", "* ")):
                items.append(f"<li>{_inline(lines[i].strip()[2:])}</li>")
                i += 1
            html.append("<ul>" + "".join(items) + "</ul>")
            continue
        elif stripped.startswith("|") and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1]):
            flush()
            end = i + 2
            while end < len(lines) and lines[end].strip().startswith("|"):
                end += 1
            html.append(_table(lines[i:end]))
            i = end
            continue
        elif not stripped:
            flush()
        else:
            paragraph.append(stripped)
        i += 1
    flush()
    return mark_safe("\n".join(html))  # noqa: S308 - every text was escaped above
