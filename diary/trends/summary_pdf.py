"""The patient's own PDF summary of a chosen period, to take to the clinic.

Drawn entirely on the server with reportlab (no browser at run time): the symptom chart is a
reportlab graphics drawing (vector lines, with its numbers also given as text in a table), and
every figure is real text, so the PDF can be searched, copied and read aloud. The patient's
name appears on the first page only (later pages carry the period and page number), so a page
left on a desk does not name them.

Limit: reportlab writes no PDF structure tree, so the file is not a tagged PDF (PDF/UA); it
has a title, language-neutral reading order (one column, top to bottom) and text throughout.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from diary.fields import SYMPTOM_FIELDS
from diary.trends.figures import STYLES
from diary.trends.frames import rolling_name, weekly_means_from_frame

DASHES = {"solid": None, "dash": (6, 3), "dot": (1, 2), "dashdot": (6, 2, 1, 2),
          "longdash": (10, 3), "longdashdot": (10, 2, 1, 2)}  # fmt: skip


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
    return "-" if value is None or value != value else f"{value:.1f}"  # NaN != NaN


def _chart(frame, width: float) -> Drawing:
    """The six symptoms' 7-day averages as lines (0-10), one colour and dash pattern each."""
    height = 60 * mm
    drawing = Drawing(width, height)
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 30, 20, width - 40, height - 30
    days = list(range(len(frame.index)))
    data, kept = [], []
    for field in SYMPTOM_FIELDS:
        series = frame[rolling_name(field.name)].tolist()
        points = [(d, v) for d, v in zip(days, series, strict=True) if v == v]
        if points:
            data.append(points)
            kept.append(field)
    if not data:
        drawing.add(String(10, height / 2, "Too few days filled in for 7-day averages."))
        return drawing
    plot.data = data
    plot.yValueAxis.valueMin, plot.yValueAxis.valueMax, plot.yValueAxis.valueStep = 0, 10, 2
    plot.xValueAxis.valueMin, plot.xValueAxis.valueMax = 0, max(1, len(days) - 1)
    plot.xValueAxis.visibleLabels = False
    for n, field in enumerate(kept):
        colour, dash = STYLES[field.name]
        plot.lines[n].strokeColor = colors.HexColor(colour)
        plot.lines[n].strokeWidth = 1.6
        if DASHES[dash]:
            plot.lines[n].strokeDashArray = DASHES[dash]
    drawing.add(plot)
    return drawing


def _table(rows: list[list[str]], widths=None) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("GRID", (0, 1), (-1, -1), 0.25, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def build_summary_pdf(data: SummaryData) -> bytes:
    styles = getSampleStyleSheet()
    period = f"{data.date_from:%d %b %Y} to {data.date_to:%d %b %Y}"
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, title=f"Diary summary, {period}", author="",
        subject="Symptom diary summary", leftMargin=18 * mm, rightMargin=18 * mm,
    )  # fmt: skip
    frame = data.frame
    recorded = int(frame["recorded"].sum()) if len(frame) else 0
    story = [
        Paragraph("Diary summary", styles["Title"]),
        Paragraph(f"{data.name}", styles["Heading2"]),
        Paragraph(
            f"Period: {period}. Days filled in: {recorded} of {len(frame.index)}.", styles["Normal"]
        ),  # fmt: skip
        *([Paragraph(data.note, styles["Normal"])] if data.note else []),
        Spacer(1, 6 * mm),
        Paragraph("Symptoms (7-day averages, 0 to 10, higher is worse)", styles["Heading2"]),
        _chart(frame, doc.width),
    ]
    rows = [["Symptom", "Average", "Lowest day", "Highest day"]]
    for field in SYMPTOM_FIELDS:
        column = frame[field.name]
        rows.append([field.label, _fmt(column.mean()), _fmt(column.min()), _fmt(column.max())])
    story += [_table(rows), Spacer(1, 4 * mm)]
    flares = ", ".join(f"{d:%d %b}" for d in data.flare_dates) or "none"
    story += [Paragraph(f"Flare days ({len(data.flare_dates)}): {flares}.", styles["Normal"])]
    story += [Paragraph("Questionnaires", styles["Heading2"])]
    if data.questionnaires:
        rows = [["Date", "Questionnaire", "Score", "Band or state", "Change"]]
        for q in data.questionnaires:
            band = q.band.label if q.band else (
                "acceptable (below 5)" if q.acceptable else "above the acceptable state"
                if q.acceptable is False else "-"
            )  # fmt: skip
            rows.append([f"{q.period_end:%d %b %Y}", q.instrument.short_name, q.score_text,
                         band, q.change_text or "-"])  # fmt: skip
        story.append(_table(rows))
    else:
        story.append(Paragraph("No questionnaires in this period.", styles["Normal"]))
    story += [Paragraph("Medicines and adherence", styles["Heading2"])]
    if data.adherence:
        rows = [["Medicine", "Doses due", "Taken", "Missed", "Skipped", "Taken (%)"]]
        for a in data.adherence:
            med = a.medicine
            rows.append([f"{med.name} {med.dose} {med.unit}", str(a.expected), str(a.taken),
                         str(a.missed), str(a.skipped), _fmt(a.percent)])  # fmt: skip
        story.append(_table(rows))
    else:
        story.append(Paragraph("No medicines in this period.", styles["Normal"]))

    def later_page(canvas, document):  # no name after the first page
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.drawString(18 * mm, 10 * mm, f"Diary summary, {period}. Page {document.page}.")
        canvas.restoreState()

    story += [Paragraph("Weekly averages", styles["Heading2"])]
    rows = [["Week", *[f.label.split(" (")[0] for f in SYMPTOM_FIELDS], "Days", "Flares"]]
    for week in weekly_means_from_frame(frame):
        rows.append([f"{week.week_start:%d %b}", *[_fmt(v) for v in week.cells],
                     str(week.days_recorded), str(week.flare_days)])  # fmt: skip
    story.append(_table(rows))

    doc.build(story, onLaterPages=later_page)
    return buffer.getvalue()
