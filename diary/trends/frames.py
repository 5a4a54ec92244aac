"""Daily symptom series, 7-day rolling means and weekly means, computed with pandas.

Functions here take a patient and a date range and do no permission checks: the patient's own
pages pass request.user; the clinician summary calls them after its grant check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from diary.fields import SYMPTOM_FIELDS, SYMPTOM_NAMES
from diary.records import EntryView
from diary.selectors import entries_between

ROLLING_DAYS = 7
# A 7-day mean needs at least 4 of the 7 days filled in: fewer would let one or two days stand
# in for a week, which is exactly what a rolling mean is meant to smooth out.
ROLLING_MIN_DAYS = 4
LABELS = {f.name: f.label for f in SYMPTOM_FIELDS}


def rolling_name(symptom: str) -> str:
    return f"{symptom}_7d"


def daily_frame(entries: Iterable[EntryView], *, date_from: date, date_to: date) -> pd.DataFrame:
    """One row per calendar day from date_from to date_to (missing days are NaN).

    Columns: the six symptoms, `flare` (bool), `recorded` (bool) and `<symptom>_7d`, the mean of
    the 7 days ending that day. Pass entries from 6 days before date_from so that the first
    rolling means of the range are computed from real days, not cut short.
    """
    index = pd.date_range(date_from - timedelta(days=ROLLING_DAYS - 1), date_to, freq="D")
    rows = [(e.date, *(getattr(e, name) for name in SYMPTOM_NAMES), e.flare) for e in entries]
    columns = [*SYMPTOM_NAMES, "flare"]
    if rows:
        raw = pd.DataFrame.from_records(rows, columns=["date", *columns])
        raw.index = pd.DatetimeIndex(raw.pop("date"))
        raw = raw[~raw.index.duplicated(keep="last")]
    else:
        raw = pd.DataFrame(columns=columns, index=pd.DatetimeIndex([]))
    frame = raw.reindex(index)
    frame.index.name = "date"
    scores = frame[list(SYMPTOM_NAMES)].astype("float64")
    rolling = scores.rolling(ROLLING_DAYS, min_periods=ROLLING_MIN_DAYS).mean()
    result = scores.copy()
    result["recorded"] = scores.notna().any(axis=1)
    result["flare"] = frame["flare"].astype("boolean").fillna(False).astype(bool)
    for name in SYMPTOM_NAMES:
        result[rolling_name(name)] = rolling[name]
    return result.loc[pd.Timestamp(date_from) :]


def trend_frame(*, patient, date_from: date, date_to: date) -> pd.DataFrame:
    """The patient's daily scores and 7-day rolling means for the range (see daily_frame)."""
    entries = entries_between(
        patient=patient,
        date_from=date_from - timedelta(days=ROLLING_DAYS - 1),
        date_to=date_to,
    )
    return daily_frame(entries, date_from=date_from, date_to=date_to)


# --- Weekly means ---------------------------------------------------------------------------
@dataclass(frozen=True)
class WeekMeans:
    week_start: date  # a Monday (ISO week), or the range's first day for a partial week
    week_end: date
    days_recorded: int
    flare_days: int
    means: dict[str, float | None]  # symptom name -> mean over recorded days (None if none)

    def mean(self, symptom: str) -> float | None:
        return self.means.get(symptom)

    @property
    def cells(self) -> list[float | None]:
        """Means in SYMPTOM_FIELDS order (for table rows)."""
        return [self.means[name] for name in SYMPTOM_NAMES]


def weekly_means_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Per ISO week (Monday to Sunday): mean of each symptom over the recorded days, the number
    of recorded days and of flare days."""
    if frame.empty:
        return pd.DataFrame(columns=[*SYMPTOM_NAMES, "days_recorded", "flare_days"])
    days = frame.assign(day=frame.index)
    grouped = days.groupby(frame.index - pd.to_timedelta(frame.index.weekday, unit="D"))
    weekly = grouped[list(SYMPTOM_NAMES)].mean()
    weekly["days_recorded"] = grouped["recorded"].sum().astype(int)
    weekly["flare_days"] = grouped["flare"].sum().astype(int)
    weekly["first_day"] = grouped["day"].min()
    weekly["last_day"] = grouped["day"].max()
    return weekly


def _clean(value) -> float | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value


def weekly_means_from_frame(frame: pd.DataFrame) -> list[WeekMeans]:
    weekly = weekly_means_frame(frame)
    return [
        WeekMeans(
            week_start=row.first_day.date(),
            week_end=row.last_day.date(),
            days_recorded=int(row.days_recorded),
            flare_days=int(row.flare_days),
            means={name: _clean(float(getattr(row, name))) for name in SYMPTOM_NAMES},
        )
        for row in weekly.itertuples()
    ]


def weekly_means(*, patient, date_from: date, date_to: date) -> list[WeekMeans]:
    """The weekly means table of the range, oldest week first (weeks cut at the range's ends)."""
    frame = trend_frame(patient=patient, date_from=date_from, date_to=date_to)
    return weekly_means_from_frame(frame)


def daily_series(frame: pd.DataFrame) -> list[dict]:
    """The frame as JSON-ready rows (the API twin): null where a day has no entry or too few
    days for a rolling mean."""
    out = frame.reset_index()
    out["date"] = out["date"].dt.date.map(date.isoformat)
    out[list(SYMPTOM_NAMES)] = out[list(SYMPTOM_NAMES)].astype("Int64")
    means = [rolling_name(n) for n in SYMPTOM_NAMES]
    out[means] = out[means].round(2)
    records = out.astype(object).where(out.notna(), None).to_dict("records")
    return records
