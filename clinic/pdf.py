"""The pre-appointment summary as a PDF, drawn on the server with reportlab.

It renders the same `PatientSummary` the page shows (clinic.summary), so the two cannot differ.
Platypus flows paragraphs and tables down A4 pages and breaks between them, so nothing overlaps
however long a section is; tables repeat their header row on a new page.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from clinic.summary import PatientSummary

# A Unicode font where the system has one (patients' and medicines' names are not all Latin-1);
# reportlab's built-in Helvetica otherwise.
_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
FONT, FONT_BOLD = "Helvetica", "Helvetica-Bold"
if (_DEJAVU / "DejaVuSans.ttf").exists() and (_DEJAVU / "DejaVuSans-Bold.ttf").exists():
    try:
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(_DEJAVU / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(_DEJAVU / "DejaVuSans-Bold.ttf")))
        FONT, FONT_BOLD = "DejaVuSans", "DejaVuSans-Bold"
    except Exception:  # noqa: BLE001, S110 - a broken font file: keep the built-in one
        pass

_STYLES = getSampleStyleSheet()
for _name in ("Title", "Heading2", "Normal", "BodyText"):
    _STYLES[_name].fontName = FONT_BOLD if _name in ("Title", "Heading2") else FONT
_STYLES["Title"].fontSize = 15
_STYLES["Heading2"].fontSize = 11
_STYLES["Heading2"].spaceBefore = 8
_STYLES["Normal"].fontSize = 8.5
_CELL = _STYLES["Normal"].clone("Cell", fontSize=7.5, leading=9)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _p(text: str, style=None) -> Paragraph:
    return Paragraph(escape(text), style or _STYLES["Normal"])


def _table(rows: list[list[str]], widths: list[float] | None = None) -> Table:
    cells = [[Paragraph(escape(str(c)), _CELL) for c in row] for row in rows]
    table = Table(cells, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), FONT_BOLD),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#999999")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    return table


def _weekly_chart(report: PatientSummary) -> Drawing | None:
    """Weekly mean of each symptom (0-10), one line each: the page's chart, simplified."""
    names = list(report.symptom_labels)
    weeks = report.weeks
    if len(weeks) < 2 or not names:
        return None
    drawing = Drawing(170 * mm, 55 * mm)
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 12 * mm, 8 * mm, 120 * mm, 42 * mm
    data = []
    for name in names:
        points = [(i, w.means.get(name)) for i, w in enumerate(weeks)]
        data.append([(x, y) for x, y in points if y is not None] or [(0, 0)])
    plot.data = data
    plot.yValueAxis.valueMin, plot.yValueAxis.valueMax, plot.yValueAxis.valueStep = 0, 10, 2
    plot.xValueAxis.valueMin, plot.xValueAxis.valueMax = 0, len(weeks) - 1
    plot.xValueAxis.labels.fontName = plot.yValueAxis.labels.fontName = FONT
    plot.xValueAxis.labelTextFormat = lambda i: weeks[int(i)].week_start.strftime("%-d %b")
    plot.xValueAxis.valueStep = max(1, len(weeks) // 6)
    palette = ["#1f5f99", "#b35900", "#2e7d32", "#8e24aa", "#c62828", "#455a64"]
    for i, _ in enumerate(names):
        plot.lines[i].strokeColor = colors.HexColor(palette[i % len(palette)])
        plot.lines[i].strokeWidth = 1.2
    drawing.add(plot)
    for i, name in enumerate(names):  # the legend, right of the plot
        drawing.add(
            String(
                136 * mm,
                (46 - 6 * i) * mm,
                report.symptom_labels[name],
                fontName=FONT,
                fontSize=7,
                fillColor=colors.HexColor(palette[i % len(palette)]),
            )
        )
    return drawing


def summary_pdf(report: PatientSummary) -> bytes:
    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"Pre-appointment summary: {report.patient_name}",
        author="My Sjögren's Diary",
    )
    story: list = [
        _p(f"Pre-appointment summary: {report.patient_name}", _STYLES["Title"]),
        _p(
            f"{report.date_from:%-d %B %Y} to {report.date_to:%-d %B %Y}: "
            f"{report.entry_count} diary entries in {report.days_in_period} days; "
            f"{len(report.flare_dates)} day(s) with a flare."
        ),
    ]
    if report.flare_dates:
        story.append(_p("Flare days: " + ", ".join(f"{d:%-d %b}" for d in report.flare_dates)))
    story.append(_p("Symptoms (0 = none, 10 = worst)", _STYLES["Heading2"]))
    chart = _weekly_chart(report)
    if chart is not None:
        story.append(chart)
    if report.entry_count:
        labels = list(report.symptom_labels.values())
        rows = [["Week from", *labels, "Days", "Flares"]]
        for w in report.weeks:
            rows.append(
                [
                    f"{w.week_start:%-d %b}",
                    *[_fmt(v) for v in w.means.values()],
                    w.entries,
                    w.flares,
                ]
            )
        rows.append(["All", *[_fmt(v) for v in report.period_means.values()],
                     report.entry_count, len(report.flare_dates)])  # fmt: skip
        story.append(_table(rows))
    else:
        story.append(_p("No diary entries in this period."))

    story.append(_p("Medicines", _STYLES["Heading2"]))
    if report.medicines is None:
        story.append(_p("The patient does not share their medicines with you."))
    elif report.medicines:
        rows = [["Medicine", "Dose and schedule", "Changes in period", "Adherence"]]
        for m in report.medicines:
            adherence = (
                f"{m.percent:.0f}% ({m.taken} of {m.expected} doses taken)"
                if m.percent is not None
                else "Not recorded"
            )
            rows.append(
                [
                    m.name,
                    f"{m.dose} {m.unit}, {m.schedule}",
                    "; ".join(m.changes_in_period) or "None",
                    adherence,
                ]  # fmt: skip
            )
        story.append(_table(rows, [40 * mm, 40 * mm, 60 * mm, 40 * mm]))
    else:
        story.append(_p("No medicines in this period."))

    story.append(_p("Questionnaires", _STYLES["Heading2"]))
    if report.questionnaires is None:
        story.append(_p("The patient does not share their questionnaires with you."))
    elif report.questionnaires:
        rows = [["Questionnaire", "Period ending", "Score", "Acceptable state", "Change"]]
        for q in report.questionnaires:
            acceptable = {True: "Yes", False: "No"}.get(q.acceptable, "n/a")
            change = {"worsened": "Meaningful worsening", "improved": "Meaningful improvement"}
            rows.append(
                [
                    q.instrument_name,
                    f"{q.period_end:%-d %b %Y}",
                    q.score_text + (f" ({q.band})" if q.band else ""),
                    acceptable,
                    change.get(q.change or "", "No meaningful change" if q.change else "n/a"),
                ]  # fmt: skip
            )
        story.append(_table(rows))
    else:
        story.append(_p("No questionnaires in this period."))

    story.append(_p("Imaging", _STYLES["Heading2"]))
    if not report.imaging_shared:
        story.append(_p("The patient does not share their imaging with you."))
    elif not report.imaging:
        story.append(_p("No imaging yet."))
    else:
        for study in report.imaging:
            block = [
                _p(
                    f"{(study.body_part or 'Radiograph').capitalize()} uploaded "
                    f"{study.uploaded_on:%-d %b %Y}: {study.status_label}"
                    + (
                        f"; {study.joints_confirmed} of {len(study.joints)} joints confirmed "
                        "by a clinician"
                        if study.joints
                        else ""
                    )
                )
            ]
            if study.joints:
                rows = [["Joint", "Joint space narrowing", "Erosion", "Source"]]
                for j in study.joints:
                    rows.append(
                        [
                            j.joint,
                            "-" if j.jsn is None else j.jsn,
                            "-" if j.erosion is None else j.erosion,
                            j.source,
                        ]  # fmt: skip
                    )
                block.append(_table(rows, [30 * mm, 40 * mm, 25 * mm, 35 * mm]))
            block.append(Spacer(1, 3 * mm))
            story.append(KeepTogether(block))
        story.append(
            _p(
                "Model grades are for demonstration only unless a clinician confirmed them "
                "(Source: confirmed)."
            )
        )

    def footer(canvas, doc_) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.drawString(
            14 * mm, 7 * mm, f"{report.patient_name}: pre-appointment summary, page {doc_.page}"
        )
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
