"""Everything the trends page (and the clinician's pre-appointment summary) shows, for one
patient and one date range. No permission checks here: callers pass request.user, or a patient
they have already been granted (consent's grant check)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
from django.db.models import Min
from django.utils.translation import gettext_lazy

from diary import dates
from diary.models import DailyEntry
from diary.questionnaires.definitions import get_instrument
from diary.questionnaires.selectors import ResponseRow, questionnaire_history
from diary.selectors import dose_logs_between, entries_between, medicines_for, patient_today
from diary.trends.associations import Comparison, adherence_comparisons, factor_comparisons
from diary.trends.figures import (
    DAILY_POINTS_MAX_DAYS,
    MedicinePeriod,
    figure_data,
    symptom_figure,
)
from diary.trends.frames import WeekMeans, trend_frame, weekly_means_from_frame
from diary.trends.questionnaire_figures import (
    Improvement,
    eq5d_dimensions_figure,
    eq_vas_figure,
    esspri_meaning_figure,
    first_improvement,
    osdi_figure,
)
from diary.trends.summary import TrendSummary, summarise

# Range choices on the page: key -> (label, number of days; None = since the first entry).
RANGES: dict[str, tuple[str, int | None]] = {
    "30d": (gettext_lazy("30 days"), 30),
    "90d": (gettext_lazy("90 days"), 90),
    "1y": (gettext_lazy("A year"), 365),
    "all": (gettext_lazy("All time"), None),
}
DEFAULT_RANGE = "30d"


def range_dates(*, patient, key: str, today: date | None = None) -> tuple[date, date]:
    """First and last day of a named range, ending today in the patient's time zone."""
    today = today or patient_today(patient)
    days = RANGES[key][1]
    if days is not None:
        return today - timedelta(days=days - 1), today
    first = DailyEntry.objects.filter(patient_id=patient.pk).aggregate(first=Min("date"))["first"]
    default_start = today - timedelta(days=RANGES[DEFAULT_RANGE][1] - 1)
    # "All time" is bounded like every other period (diary/dates.py): at most ten years, never
    # before the patient's window, whatever old rows hold.
    floor = max(today - timedelta(days=dates.MAX_PERIOD_DAYS - 1), dates.window_for(patient).first)
    return max(min(first or default_start, default_start), floor), today


def medicine_periods(*, patient) -> list[MedicinePeriod]:
    return [
        MedicinePeriod(name=m.name, start=m.start_date, end=m.end_date)
        for m in medicines_for(patient=patient)
    ]


def esspri_rows(*, patient, date_from: date, date_to: date) -> list[ResponseRow]:
    return instrument_rows(patient=patient, date_from=date_from, date_to=date_to, code="esspri")


def instrument_rows(*, patient, date_from: date, date_to: date, code: str) -> list[ResponseRow]:
    return questionnaire_history(
        patient=patient,
        date_from=date_from,
        date_to=date_to,
        instrument=code,
        newest_first=False,
    )


@dataclass(frozen=True)
class QuestionnaireCharts:
    """OSDI and EQ-5D-5L over the range (ESSPRI has its own fields on Trends)."""

    osdi_rows: list[ResponseRow]
    osdi_figure: dict | None
    eq5d_rows: list[ResponseRow]
    eq5d_figure: dict | None
    eq_vas_figure: dict | None

    @property
    def latest_osdi(self) -> ResponseRow | None:
        return self.osdi_rows[-1] if self.osdi_rows else None

    @property
    def latest_eq5d(self) -> ResponseRow | None:
        return self.eq5d_rows[-1] if self.eq5d_rows else None


def questionnaire_charts(*, patient, date_from: date, date_to: date) -> QuestionnaireCharts:
    span = {"date_from": date_from, "date_to": date_to}
    osdi = instrument_rows(patient=patient, code="osdi", **span)
    eq5d = instrument_rows(patient=patient, code="eq5d5l", **span)
    vas = [r for r in eq5d if r.score is not None]
    bands = get_instrument("osdi").bands
    return QuestionnaireCharts(
        osdi_rows=osdi,
        osdi_figure=figure_data(osdi_figure(osdi, bands=bands, **span)) if osdi else None,
        eq5d_rows=eq5d,
        eq5d_figure=figure_data(eq5d_dimensions_figure(eq5d, **span)) if eq5d else None,
        eq_vas_figure=figure_data(eq_vas_figure(vas, **span)) if vas else None,
    )


@dataclass(frozen=True)
class Trends:
    date_from: date
    date_to: date
    frame: pd.DataFrame
    summary: TrendSummary
    weeks: list[WeekMeans]
    symptom_figure: dict
    esspri_rows: list[ResponseRow]
    esspri_figure: dict | None
    medicines: list[MedicinePeriod]
    esspri_improvement: Improvement | None = None
    questionnaires: QuestionnaireCharts | None = None

    @property
    def latest_esspri(self) -> ResponseRow | None:
        return self.esspri_rows[-1] if self.esspri_rows else None

    @property
    def shows_daily_points(self) -> bool:
        return (self.date_to - self.date_from).days + 1 <= DAILY_POINTS_MAX_DAYS

    @property
    def medicine_changes(self) -> list[tuple[date, str]]:
        """(date, "Started X" / "Stopped X") within the range, oldest first: the text version
        of the chart's medicine bands."""
        changes = []
        for med in self.medicines:
            if self.date_from <= med.start <= self.date_to:
                changes.append((med.start, f"Started {med.name}"))
            if med.end is not None and self.date_from <= med.end <= self.date_to:
                changes.append((med.end, f"Stopped {med.name}"))
        return sorted(changes)


def trends_for(
    *,
    patient,
    date_from: date,
    date_to: date,
    include_medicines: bool = True,
    include_esspri: bool = True,
    include_questionnaires: bool = False,
) -> Trends:
    """The charts (as plotly JSON), weekly means and text summary of a patient's range.

    include_medicines / include_esspri let a caller leave out what it may not show (e.g. a
    clinician whose grant does not cover medicines or questionnaires); include_questionnaires
    adds the OSDI and EQ-5D-5L charts (the patient's trends page asks for them; the clinician's
    summary has its own questionnaire table and must fit two printed pages).
    """
    frame = trend_frame(patient=patient, date_from=date_from, date_to=date_to)
    medicines = medicine_periods(patient=patient) if include_medicines else []
    rows = []
    if include_esspri:
        rows = esspri_rows(patient=patient, date_from=date_from, date_to=date_to)
    return Trends(
        date_from=date_from,
        date_to=date_to,
        frame=frame,
        summary=summarise(frame, date_from=date_from, date_to=date_to),
        weeks=weekly_means_from_frame(frame),
        symptom_figure=figure_data(
            symptom_figure(frame, date_from=date_from, date_to=date_to, medicines=medicines)
        ),
        esspri_rows=rows,
        esspri_figure=(
            figure_data(esspri_meaning_figure(rows, date_from=date_from, date_to=date_to))
            if include_esspri
            else None
        ),
        medicines=medicines,
        esspri_improvement=first_improvement(rows),
        questionnaires=(
            questionnaire_charts(patient=patient, date_from=date_from, date_to=date_to)
            if include_questionnaires
            else None
        ),
    )


def symptom_figure_for(
    *, patient, date_from: date, date_to: date, include_medicines: bool = True
) -> dict:
    """Just the symptom chart's plotly JSON (render it with static/diary/trends.js)."""
    frame = trend_frame(patient=patient, date_from=date_from, date_to=date_to)
    medicines = medicine_periods(patient=patient) if include_medicines else []
    return figure_data(
        symptom_figure(frame, date_from=date_from, date_to=date_to, medicines=medicines)
    )


def esspri_figure_for(*, patient, date_from: date, date_to: date) -> dict:
    """Just the ESSPRI trajectory's plotly JSON, with the acceptable-state line at 5 and the
    first meaningful improvement marked."""
    rows = esspri_rows(patient=patient, date_from=date_from, date_to=date_to)
    return figure_data(esspri_meaning_figure(rows, date_from=date_from, date_to=date_to))


@dataclass(frozen=True)
class BadDays:
    date_from: date
    date_to: date
    days_recorded: int
    factors: list[Comparison]
    medicines: list[Comparison]


def bad_days_for(*, patient, date_from: date, date_to: date) -> BadDays:
    """Factors and medicine doses set against the day's symptom score (the patient's own data:
    callers pass request.user)."""
    entries = entries_between(patient=patient, date_from=date_from, date_to=date_to)
    names = {m.id: m.name for m in medicines_for(patient=patient)}
    doses: dict[str, dict[date, list[str]]] = defaultdict(lambda: defaultdict(list))
    for log in dose_logs_between(patient=patient, date_from=date_from, date_to=date_to):
        if log.medicine_id in names:
            doses[names[log.medicine_id]][log.date].append(log.status)
    return BadDays(
        date_from=date_from,
        date_to=date_to,
        days_recorded=len(entries),
        factors=factor_comparisons(entries),
        medicines=adherence_comparisons(entries, doses),
    )


def summary_data_for(*, patient, date_from: date, date_to: date):
    """What the patient's PDF summary shows for the period (their own data)."""
    from diary.selectors import adherence
    from diary.trends.summary_pdf import SummaryData

    frame = trend_frame(patient=patient, date_from=date_from, date_to=date_to)
    flare_dates = [d.date() for d in frame.index[frame["flare"].to_numpy(dtype=bool)]]
    return SummaryData(
        name=patient.display_name or patient.email,
        date_from=date_from,
        date_to=date_to,
        frame=frame,
        questionnaires=questionnaire_history(
            patient=patient, date_from=date_from, date_to=date_to, newest_first=False
        ),
        adherence=[
            a
            for a in adherence(patient=patient, date_from=date_from, date_to=date_to)
            if a.taken or a.missed or a.skipped
        ],
        flare_dates=flare_dates,
    )


def first_record_date(*, patient) -> date | None:
    return DailyEntry.objects.filter(patient_id=patient.pk).aggregate(first=Min("date"))["first"]
