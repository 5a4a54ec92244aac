"""Plotly figures of the trends, built on the server and drawn in the browser by trends.js.

The figures go to the page as JSON in a <script type="application/json"> block (json_script),
which the CSP allows because it is never executed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from django.utils.translation import gettext as _

from diary.fields import SYMPTOM_FIELDS
from diary.trends.frames import rolling_name

# Okabe-Ito colours (distinguishable with colour-vision deficiency), each also with its own dash
# pattern so that no line is told apart by colour alone (WCAG 1.4.1).
STYLES: dict[str, tuple[str, str]] = {
    "dryness_eyes": ("#0072B2", "solid"),
    "dryness_mouth": ("#009E73", "dash"),
    "dryness_skin": ("#56B4E9", "dot"),
    "fatigue": ("#E69F00", "dashdot"),
    "muscle_pain": ("#D55E00", "longdash"),
    "joint_pain": ("#CC79A7", "longdashdot"),
}
FLARE_COLOUR = "#A4161A"
BAND_COLOURS = ("rgba(11,79,138,0.10)", "rgba(122,46,142,0.10)", "rgba(27,110,58,0.10)")
# Daily points are drawn for short ranges only; over months they hide the rolling means.
DAILY_POINTS_MAX_DAYS = 120
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, DejaVu Sans, sans-serif"}


@dataclass(frozen=True)
class MedicinePeriod:
    """A medicine's time on treatment, drawn as a shaded band."""

    name: str
    start: date
    end: date | None  # None: still taking it


def _layout(*, title: str | None, date_from: date, date_to: date, y_title: str, y_range) -> dict:
    layout = {
        "font": {**FONT, "size": 13, "color": "#1a1a1a"},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "margin": {"l": 48, "r": 12, "t": 48, "b": 40},
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": -0.15, "x": 0},
        "xaxis": {
            "type": "date",
            # Half a day either side so that the first and last day's points are not cut.
            "range": [
                (date_from - timedelta(hours=12)).isoformat(),
                (date_to + timedelta(days=1)).isoformat(),
            ],
            "gridcolor": "#e2e2e2",
            "linecolor": "#595959",
        },
        "yaxis": {
            "title": {"text": y_title},
            "range": y_range,
            "gridcolor": "#e2e2e2",
            "zeroline": False,
            "linecolor": "#595959",
        },
    }
    if title:
        layout["title"] = {"text": title, "x": 0, "font": {"size": 16}}
    else:
        layout["margin"]["t"] = 16  # the page's heading names the chart
    return layout


def _dates(index: pd.DatetimeIndex) -> np.ndarray:
    return index.strftime("%Y-%m-%d").to_numpy()


def _values(series: pd.Series) -> np.ndarray:
    """Float array rounded to 2 decimals; NaN (no entry) becomes null in the JSON: a gap."""
    return series.to_numpy(dtype="float64").round(2)


def _fraction(day: date, date_from: date, date_to: date) -> float:
    """Where a day falls along the range, from 0 (first day) to 1 (last)."""
    return (day - date_from).days / max(1, (date_to - date_from).days)


def _medicine_bands(
    figure: go.Figure, medicines: Sequence[MedicinePeriod], *, date_from: date, date_to: date
) -> None:
    """A shaded band for each medicine's time on treatment within the range, labelled where it
    was started, with a dashed line where it was stopped."""
    shown = [m for m in medicines if m.start <= date_to and (m.end is None or m.end >= date_from)]
    for n, med in enumerate(shown):
        start = max(med.start, date_from)
        end = min(med.end or date_to, date_to)
        started_here = med.start >= date_from
        label = (_("Started %(name)s") if started_here else _("%(name)s (ongoing)")) % {
            "name": med.name
        }
        # A label grows away from the nearer edge of the chart, so that it is never cut off.
        late = _fraction(start, date_from, date_to) > 0.5
        figure.add_vrect(
            x0=start.isoformat(),
            x1=(end + timedelta(days=1)).isoformat(),
            fillcolor=BAND_COLOURS[n % len(BAND_COLOURS)],
            line_width=0,
            layer="below",
            annotation={
                "text": label,
                "x": (end + timedelta(days=1)).isoformat() if late else start.isoformat(),
                "xanchor": "right" if late else "left",
                "y": 1 - 0.07 * (n % 5),
                "yref": "paper",
                "yanchor": "top",
                "showarrow": False,
                "font": {"size": 11, "color": "#1a1a1a"},
            },
        )
        if med.end is not None and date_from <= med.end <= date_to:
            figure.add_vline(
                x=(med.end + timedelta(days=1)).isoformat(),
                line={"color": "#4a4a4a", "dash": "dash", "width": 1},
            )
            figure.add_annotation(
                x=(med.end + timedelta(days=1)).isoformat(),
                y=0.02 + 0.07 * (n % 5),
                yref="paper",
                xanchor="right" if _fraction(med.end, date_from, date_to) > 0.5 else "left",
                text=_("Stopped %(name)s") % {"name": med.name},
                showarrow=False,
                font={"size": 11, "color": "#1a1a1a"},
            )


def symptom_figure(
    frame: pd.DataFrame,
    *,
    date_from: date,
    date_to: date,
    medicines: Sequence[MedicinePeriod] = (),
    title: str | None = None,
) -> go.Figure:
    """The six symptoms: 7-day rolling means as lines (daily scores as faint points over short
    ranges), flare days as red triangles along the top, medicine periods as shaded bands."""
    x = _dates(frame.index)
    daily = (date_to - date_from).days + 1 <= DAILY_POINTS_MAX_DAYS
    traces = []
    for field in SYMPTOM_FIELDS:
        colour, dash = STYLES[field.name]
        traces.append(
            go.Scatter(
                x=x,
                y=_values(frame[rolling_name(field.name)]),
                name=_(field.label),
                legendgroup=field.name,
                mode="lines",
                line={"color": colour, "dash": dash, "width": 2.5},
                connectgaps=False,
                hovertemplate="%{y:.1f}",
            )
        )
        if daily:
            traces.append(
                go.Scatter(
                    x=x,
                    y=_values(frame[field.name]),
                    name=_("%(label)s (day)") % {"label": _(field.label)},
                    legendgroup=field.name,
                    showlegend=False,
                    mode="markers",
                    marker={"color": colour, "size": 5, "opacity": 0.45},
                    hoverinfo="skip",
                )
            )
    flares = frame.index[frame["flare"].to_numpy(dtype=bool)]
    traces.append(
        go.Scatter(
            x=_dates(flares),
            y=[10.6] * len(flares),
            name=_("Flare day"),
            mode="markers",
            marker={"symbol": "triangle-down", "size": 11, "color": FLARE_COLOUR},
            hovertemplate=_("Flare"),
        )
    )
    figure = go.Figure(
        data=traces,
        layout=_layout(
            title=title,
            date_from=date_from,
            date_to=date_to,
            y_title=_("Score (0 to 10)"),
            y_range=[-0.3, 11.1],
        ),
    )
    _medicine_bands(figure, medicines, date_from=date_from, date_to=date_to)
    return figure


def esspri_figure(
    rows, *, date_from: date, date_to: date, threshold: float = 5.0, title: str | None = None
) -> go.Figure:
    """ESSPRI scores at the end of each recall period, with the acceptable-state line at 5
    (PASS: a score below 5, Seror et al. 2016) and the acceptable zone shaded."""
    rows = sorted(rows, key=lambda r: (r.period_end, r.completed_at))
    figure = go.Figure(
        data=[
            go.Scatter(
                x=[r.period_end.isoformat() for r in rows],
                y=[r.score for r in rows],
                name="ESSPRI",
                mode="lines+markers",
                line={"color": "#0B4F8A", "width": 2.5},
                marker={"size": 9, "color": "#0B4F8A"},
                hovertemplate="ESSPRI %{y:.1f}<extra></extra>",
            )
        ],
        layout=_layout(
            title=title,
            date_from=date_from,
            date_to=date_to,
            y_title="ESSPRI (0 to 10)",
            y_range=[0, 10.2],
        ),
    )
    figure.update_layout(showlegend=False)
    figure.add_hrect(y0=0, y1=threshold, fillcolor="rgba(27,110,58,0.08)", line_width=0)
    figure.add_hline(y=threshold, line={"color": "#1B6E3A", "dash": "dash", "width": 2})
    figure.add_annotation(
        text=_("Acceptable state: below %(threshold)s") % {"threshold": f"{threshold:g}"},
        x=0,
        xref="paper",
        xanchor="left",
        y=threshold,
        yanchor="bottom",
        showarrow=False,
        font={"size": 12, "color": "#1B6E3A"},
    )
    return figure


def figure_data(figure: go.Figure) -> dict:
    """The figure as plain JSON data for json_script (plotly's encoder handles numpy and dates)."""
    return json.loads(pio.to_json(figure, validate=False))
