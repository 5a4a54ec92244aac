"""Questionnaire charts that say what a score means: ESSPRI with the acceptable state and the
minimal clinically important improvement, OSDI with its severity bands, EQ-5D-5L's five
dimensions and the EQ VAS. Built on the server as plotly JSON; drawn by static/diary/trends.js.

Every label sits inside the plotting area or the figure's own margins (x/y in "paper"
coordinates, anchored towards the inside), so none is cut at 360 px
(tests/e2e/test_trend_charts_layout.py checks every text element of every chart).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import plotly.graph_objects as go

from diary.questionnaires.scoring import Change, change_between
from diary.trends.figures import _layout

# Okabe-Ito colours, each dimension with its own dash and marker too (WCAG 1.4.1).
EQ5D_STYLES = (
    ("#0072B2", "solid", "circle"),
    ("#009E73", "dash", "square"),
    ("#E69F00", "dot", "diamond"),
    ("#D55E00", "dashdot", "triangle-up"),
    ("#CC79A7", "longdash", "x"),
)
# OSDI severity bands (Schiffman et al. 2000; the cut-offs in diary/data/instruments/osdi.json):
# shaded from light to darker so that the bands differ in lightness, not only in hue.
OSDI_BAND_FILLS = ("rgba(27,110,58,0.10)", "rgba(230,159,0,0.14)", "rgba(213,94,0,0.16)",
                   "rgba(164,22,26,0.14)")  # fmt: skip
TEXT = "#1a1a1a"
LINE = "#0B4F8A"


@dataclass(frozen=True)
class Improvement:
    """The first response in the range that is a minimal clinically important improvement over
    the range's first response (the baseline): for ESSPRI a fall of at least 1 point or at least
    15 % (Seror et al. 2016)."""

    baseline_date: date
    baseline_score: float
    date: date
    score: float


def first_improvement(rows: Sequence) -> Improvement | None:
    """rows: ResponseRows of one instrument, oldest first."""
    scored = [r for r in rows if r.score is not None]
    if len(scored) < 2:
        return None
    baseline = scored[0]
    for row in scored[1:]:
        if change_between(row.instrument, baseline.score, row.score) is Change.IMPROVED:
            return Improvement(baseline.period_end, baseline.score, row.period_end, row.score)
    return None


def _scores_trace(rows, name: str, hover: str) -> go.Scatter:
    return go.Scatter(
        x=[r.period_end.isoformat() for r in rows],
        y=[r.score for r in rows],
        name=name,
        mode="lines+markers",
        line={"color": LINE, "width": 2.5},
        marker={"size": 9, "color": LINE},
        hovertemplate=hover,
    )


def _inside_label(figure: go.Figure, text: str, *, y: float, colour: str, top: bool) -> None:
    """A label at the left edge of the plotting area, just above (or below) a y value."""
    figure.add_annotation(
        text=text,
        x=0.01,
        xref="paper",
        xanchor="left",
        y=y,
        yanchor="bottom" if top else "top",
        showarrow=False,
        font={"size": 12, "color": colour},
        bgcolor="rgba(255,255,255,0.85)",
    )


def _in_order(rows):
    return sorted(rows, key=lambda r: (r.period_end, r.completed_at))


def _score_figure(
    rows, name: str, hover: str, y_title: str, y_max: float, *, date_from: date, date_to: date
) -> go.Figure:
    """One questionnaire's scores over time, without a legend: the base of each chart here."""
    figure = go.Figure(
        data=[_scores_trace(rows, name, hover)],
        layout=_layout(title=None, date_from=date_from, date_to=date_to,
                       y_title=y_title, y_range=[0, y_max]),
    )  # fmt: skip
    figure.update_layout(showlegend=False)
    return figure


def esspri_meaning_figure(
    rows, *, date_from: date, date_to: date, threshold: float = 5.0
) -> go.Figure:
    """ESSPRI (0-10, lower is better) with the acceptable state (PASS: below 5, Seror et al.
    2016) as a line and a shaded zone, and the first meaningful improvement since the range's
    first score marked with a star and a label."""
    rows = _in_order(rows)
    figure = _score_figure(
        rows,
        "ESSPRI",
        "ESSPRI %{y:.1f}<extra></extra>",
        "ESSPRI (0 to 10)",
        10.4,
        date_from=date_from,
        date_to=date_to,
    )
    figure.add_hrect(y0=0, y1=threshold, fillcolor="rgba(27,110,58,0.08)", line_width=0)
    figure.add_hline(y=threshold, line={"color": "#1B6E3A", "dash": "dash", "width": 2})
    _inside_label(figure, f"Acceptable: below {threshold:g}", y=threshold, colour="#1B6E3A",
                  top=False)  # fmt: skip
    found = first_improvement(rows)
    if found is not None:
        figure.add_trace(
            go.Scatter(
                x=[found.date.isoformat()],
                y=[found.score],
                name="Meaningful improvement",
                mode="markers",
                marker={"symbol": "star", "size": 18, "color": "#1B6E3A",
                        "line": {"color": "#ffffff", "width": 1}},
                hovertemplate="Meaningful improvement: %{y:.1f}<extra></extra>",
            )
        )  # fmt: skip
        _inside_label(
            figure,
            f"★ Meaningful improvement: {found.baseline_score:.1f} → {found.score:.1f}",
            y=10.3,
            colour="#1B6E3A",
            top=False,
        )
    return figure


def osdi_figure(rows, *, date_from: date, date_to: date, bands) -> go.Figure:
    """OSDI (0-100, lower is better) over its severity bands: normal 0-12, mild 13-22,
    moderate 23-32, severe 33-100, each band shaded and named at the left."""
    rows = _in_order(rows)
    figure = _score_figure(
        rows,
        "OSDI",
        "OSDI %{y:.1f}<extra></extra>",
        "OSDI (0 to 100)",
        100,
        date_from=date_from,
        date_to=date_to,
    )
    edges = [b.lower for b in bands] + [100.0]
    for n, band in enumerate(bands):
        low, high = edges[n], edges[n + 1]
        figure.add_hrect(y0=low, y1=high, fillcolor=OSDI_BAND_FILLS[n % 4], line_width=0,
                         layer="below")  # fmt: skip
        upper = f"{high - 1:g}" if n + 1 < len(bands) else "100"
        _inside_label(figure, f"{band.label} ({low:g} to {upper})", y=high, colour=TEXT, top=False)
    return figure


# The EQ-5D-5L dimensions' names (EuroQol's descriptive system), in the instrument's order.
EQ5D_DIMENSIONS = (
    ("MO", "Mobility"),
    ("SC", "Self-care"),
    ("UA", "Usual activities"),
    ("PD", "Pain / discomfort"),
    ("AD", "Anxiety / depression"),
)


def eq5d_dimensions_figure(
    rows, *, date_from: date, date_to: date, dimensions=EQ5D_DIMENSIONS
) -> go.Figure:
    """The five EQ-5D-5L dimensions over time, each from level 1 (no problems) to 5 (extreme
    problems or unable)."""
    rows = _in_order(rows)
    x = [r.period_end.isoformat() for r in rows]
    traces = []
    for (key, label), (colour, dash, symbol) in zip(dimensions, EQ5D_STYLES, strict=False):
        traces.append(
            go.Scatter(
                x=x,
                y=[int(r.answers[key]) if key in r.answers else None for r in rows],
                name=label,
                mode="lines+markers",
                line={"color": colour, "dash": dash, "width": 2.5},
                marker={"symbol": symbol, "size": 9, "color": colour},
                hovertemplate=f"{label}: level %{{y}}<extra></extra>",
            )
        )
    layout = _layout(title=None, date_from=date_from, date_to=date_to,
                     y_title="Level (1 none, 5 extreme)", y_range=[0.6, 5.4])  # fmt: skip
    layout["yaxis"]["tickvals"] = [1, 2, 3, 4, 5]
    return go.Figure(data=traces, layout=layout)


def eq_vas_figure(rows, *, date_from: date, date_to: date) -> go.Figure:
    """The EQ VAS, the patient's own rating of their health today from 0 (the worst health you
    can imagine) to 100 (the best), higher is better."""
    rows = _in_order(rows)
    figure = _score_figure(
        rows,
        "EQ VAS",
        "EQ VAS %{y:.0f}<extra></extra>",
        "EQ VAS (0 to 100)",
        104,
        date_from=date_from,
        date_to=date_to,
    )
    _inside_label(figure, "100: the best health you can imagine", y=103, colour=TEXT, top=False)
    _inside_label(figure, "0: the worst health you can imagine", y=1, colour=TEXT, top=True)
    return figure
