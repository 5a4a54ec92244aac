"""Model cards render as HTML (headings, lists, tables, code), never as raw Markdown, and a
card's text cannot inject markup."""

from __future__ import annotations

import pytest

from imaging.model_card import render_markdown
from tests.personas import login_verified


def test_markdown_subset_becomes_html():
    html = render_markdown(
        "# Card\n\n**Demo only.** Some *words* and `code`.\n\n## Limits\n- one\n- two\n\n"
        '| A | B |\n|---|---|\n| 1 | 2 |\n\n```json\n{"a": 1}\n```\n'
    )
    assert "<h2>Card</h2>" in html and "<h3>Limits</h3>" in html
    assert "<p><strong>Demo only.</strong> Some <em>words</em> and <code>code</code>.</p>" in html
    assert "<ul><li>one</li><li>two</li></ul>" in html
    assert '<th scope="col">A</th>' in html and "<td>2</td>" in html
    assert '<pre><code>{"a": 1}</code></pre>' in html
    assert "#" not in html.replace("&#x27;", "")


def test_a_card_cannot_inject_markup():
    html = render_markdown('# <script>alert(1)</script>\n\n<img src=x onerror="y"> **<b>**')
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.django_db
def test_model_card_page_shows_html_not_markdown(client, clinician_carol):
    login_verified(client, clinician_carol)
    page = client.get("/imaging/bundles/hand_joint_scorer/").content.decode()
    assert "<h3>Intended use</h3>" in page  # the card's "#" title is an h2 under the page's h1
    assert "## Intended use" not in page and "**Demonstration" not in page
    assert "<table>" in page
