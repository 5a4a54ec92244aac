"""The patient's own PDF summary of a chosen period, to take to the clinic.

Rendered on the server from an HTML template (templates/diary/summary_pdf_document.html) by
WeasyPrint, as a tagged PDF (PDF/UA-1: a structure tree of headings, paragraphs, tables and a
figure with its alternative text, marked content, the document's language and title), so that
screen readers can read it in order. No browser at run time: the symptom chart is an SVG drawn
here from the figures, and every figure is also given as text in a table. The patient's name is
on the first page only (the running footer carries the period and page number), so a page left
on a desk does not name them. It is written in the language of the page that asked for it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

from django.template.loader import render_to_string
from django.utils.formats import date_format, number_format
from django.utils.translation import get_language, gettext, to_locale

from diary.fields import SYMPTOM_FIELDS
from diary.trends.figures import STYLES
from diary.trends.frames import rolling_name, weekly_means_from_frame

# plotly dash names (diary/trends/figures.py STYLES) as SVG stroke-dasharray values.
DASHES = {"solid": "", "dash": "6 3", "dot": "1.5 2.5", "dashdot": "6 2 1.5 2",
          "longdash": "10 3", "longdashdot": "10 2 1.5 2"}  # fmt: skip
# The chart's drawing area in SVG user units (the page scales it to the text width).
CHART_W, CHART_H, LEFT, RIGHT, TOP, BOTTOM = 700, 250, 34, 10, 10, 26
FONT = "DejaVu Sans, Liberation Sans, sans-serif"


@dataclass(frozen=True)
class SummaryData:
    name: str
    date_from: date
    date_to: date
    frame: object  # pandas DataFrame of trend_frame
    questionnaires: list  # ResponseRows, oldest first
    adherence: list  # AdherenceRows
    flare_dates: list[date]
    note: str = ""  # e.g. the period was cut to where the diary starts


def _fmt(value) -> str:
    return "-" if value is None or value != value else number_format(value, 1)  # NaN != NaN


def symptom_chart_svg(frame) -> str | None:
    """The six symptoms' 7-day averages as lines on a 0-10 scale, one colour and dash pattern
    each, with a legend; None when no day has a 7-day average yet."""
    days = len(frame.index)
    plot_w, plot_h = CHART_W - LEFT - RIGHT, CHART_H - TOP - BOTTOM

    def x(n: int) -> float:
        return LEFT + plot_w * n / max(1, days - 1)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / 10)

    lines = []
    for field in SYMPTOM_FIELDS:
        values = frame[rolling_name(field.name)].tolist()
        # A gap (no average that day) breaks the line, as on the trends page.
        runs, run = [], []
        for n, value in enumerate(values):
            if value == value:  # not NaN
                run.append(f"{x(n):.1f},{y(value):.1f}")
            elif run:
                runs.append(run)
                run = []
        if run:
            runs.append(run)
        colour, dash = STYLES[field.name]
        dash_attr = f' stroke-dasharray="{DASHES[dash]}"' if DASHES[dash] else ""
        for points in runs:
            lines.append(
                f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
                f'stroke-width="2"{dash_attr}/>'
            )
    if not lines:
        return None
    grid = []
    for value in range(0, 11, 2):
        grid.append(
            f'<line x1="{LEFT}" x2="{CHART_W - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            f'stroke="#d0d0d0" stroke-width="0.8"/>'
            f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value}</text>'
        )
    first, last = frame.index[0].date(), frame.index[-1].date()
    grid.append(
        f'<text x="{LEFT}" y="{CHART_H - 6}">{escape(date_format(first, "j M Y"))}</text>'
        f'<text x="{CHART_W - RIGHT}" y="{CHART_H - 6}" text-anchor="end">'
        f"{escape(date_format(last, 'j M Y'))}</text>"
    )
    legend = []
    for n, field in enumerate(SYMPTOM_FIELDS):
        colour, dash = STYLES[field.name]
        lx, ly = LEFT + (n % 3) * 225, CHART_H + 18 + (n // 3) * 18
        dash_attr = f' stroke-dasharray="{DASHES[dash]}"' if DASHES[dash] else ""
        legend.append(
            f'<line x1="{lx}" x2="{lx + 28}" y1="{ly - 4}" y2="{ly - 4}" stroke="{colour}" '
            f'stroke-width="2"{dash_attr}/><text x="{lx + 34}" y="{ly}">'
            f"{escape(gettext(field.label))}</text>"
        )
    height = CHART_H + 48
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {CHART_W} {height}" '
        f'width="{CHART_W}" height="{height}" font-family="{FONT}" font-size="11" fill="#1a1a1a">'
        + "".join(grid + lines + legend)
        + "</svg>"
    )


def _svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _questionnaire_rows(data: SummaryData) -> list[dict]:
    rows = []
    for q in data.questionnaires:
        if q.band:
            state = q.band.label
        elif q.acceptable is None:
            state = "-"
        else:
            state = (
                gettext("acceptable (below 5)")
                if q.acceptable
                else gettext("above the acceptable state")
            )
        rows.append(
            {
                "day": q.period_end,
                "name": q.instrument.short_name,
                "score": q.score_text,
                "state": state,
                "change": q.change_text or "-",
            }
        )
    return rows


def summary_context(data: SummaryData) -> dict:
    """What the document template shows, in the active language."""
    frame = data.frame
    svg = symptom_chart_svg(frame)
    return {
        "html_lang": to_locale(get_language() or "en-gb").replace("_", "-"),
        "data": data,
        "days": len(frame.index),
        "recorded": int(frame["recorded"].sum()) if len(frame) else 0,
        "chart": _svg_data_uri(svg) if svg else "",
        "symptom_rows": [
            (
                gettext(field.label),
                _fmt(frame[field.name].mean()),
                _fmt(frame[field.name].min()),
                _fmt(frame[field.name].max()),
            )
            for field in SYMPTOM_FIELDS
        ],
        "week_headers": [gettext(field.label).split(" (")[0] for field in SYMPTOM_FIELDS],
        "weeks": [
            (week, [_fmt(value) for value in week.cells]) for week in weekly_means_from_frame(frame)
        ],
        "questionnaires": _questionnaire_rows(data),
        "adherence": [(a, _fmt(a.percent)) for a in data.adherence],
    }


def build_summary_pdf(data: SummaryData) -> bytes:
    # Imported here: WeasyPrint loads Pango through cffi, which only this view needs.
    from PIL import ImageFile
    from weasyprint import HTML

    # WeasyPrint's import turns on Pillow's process-wide LOAD_TRUNCATED_IMAGES; this PDF holds
    # no raster images, and a truncated upload must stay an error for imaging in this process.
    ImageFile.LOAD_TRUNCATED_IMAGES = False

    html = render_to_string("diary/summary_pdf_document.html", summary_context(data))
    # PDF/UA-1 turns on tagging (pdf_tags) and the metadata it requires (title shown, language).
    return HTML(string=html, base_url=None).write_pdf(pdf_variant="pdf/ua-1", pdf_tags=True)
