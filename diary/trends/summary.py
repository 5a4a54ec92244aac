"""The text summary shown beside the charts (for screen-reader users, and everyone else)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from diary.fields import SYMPTOM_FIELDS

# Half a point on the 0-10 scale: smaller differences between the two halves of a period are
# within day-to-day variation, so we call them "about the same".
DIRECTION_THRESHOLD = 0.5
# Each half needs a few days filled in before we say anything about a direction.
MIN_DAYS_PER_HALF = 3


@dataclass(frozen=True)
class SymptomSummary:
    name: str
    label: str
    average: float | None
    first_half: float | None
    second_half: float | None

    @property
    def direction(self) -> str:
        """'higher', 'lower', 'about the same', or '' when there are too few days to say."""
        if self.first_half is None or self.second_half is None:
            return ""
        change = self.second_half - self.first_half
        if abs(change) < DIRECTION_THRESHOLD:
            return "about the same"
        return "higher" if change > 0 else "lower"

    @property
    def sentence(self) -> str:
        """In the active language (the label is diary/fields.py's English, marked for it)."""
        label = _(self.label)
        if self.average is None:
            return _("%(label)s: no entries in this period.") % {"label": label}
        values = {
            "label": label,
            "average": number_format(self.average, 1),
            "first": number_format(self.first_half, 1) if self.first_half is not None else "",
            "second": number_format(self.second_half, 1) if self.second_half is not None else "",
        }
        if self.direction == "about the same":
            return (
                _(
                    "%(label)s: average %(average)s out of 10, about the same in the second half "
                    "of the period as in the first."
                )
                % values
            )
        if self.direction == "higher":
            return (
                _(
                    "%(label)s: average %(average)s out of 10, higher in the second half of the "
                    "period (%(second)s) than in the first (%(first)s)."
                )
                % values
            )
        if self.direction == "lower":
            return (
                _(
                    "%(label)s: average %(average)s out of 10, lower in the second half of the "
                    "period (%(second)s) than in the first (%(first)s)."
                )
                % values
            )
        return (
            _("%(label)s: average %(average)s out of 10; too few entries to tell a direction.")
            % values
        )


@dataclass(frozen=True)
class TrendSummary:
    date_from: date
    date_to: date
    days: int
    days_recorded: int
    flare_dates: tuple[date, ...]
    symptoms: tuple[SymptomSummary, ...]

    @property
    def flare_days(self) -> int:
        return len(self.flare_dates)


def _mean(series: pd.Series, *, min_days: int = 1) -> float | None:
    values = series.dropna()
    return float(values.mean()) if len(values) >= min_days else None


def summarise(frame: pd.DataFrame, *, date_from: date, date_to: date) -> TrendSummary:
    """Averages over the recorded days, the direction of change between the first and second
    half of the period, and the flare days."""
    half = len(frame) // 2
    first, second = frame.iloc[:half], frame.iloc[half:]
    symptoms = tuple(
        SymptomSummary(
            name=f.name,
            label=f.label,
            average=_mean(frame[f.name]),
            first_half=_mean(first[f.name], min_days=MIN_DAYS_PER_HALF),
            second_half=_mean(second[f.name], min_days=MIN_DAYS_PER_HALF),
        )
        for f in SYMPTOM_FIELDS
    )
    flares = tuple(ts.date() for ts in frame.index[frame["flare"].to_numpy(dtype=bool)])
    return TrendSummary(
        date_from=date_from,
        date_to=date_to,
        days=len(frame),
        days_recorded=int(frame["recorded"].sum()),
        flare_dates=flares,
        symptoms=symptoms,
    )
