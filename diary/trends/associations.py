""" "What goes with my bad days": for each factor a patient can tick in the diary, and for each
medicine's doses, the average symptom score on days with it and on days without it.

This is a description of the patient's own days, not a test of cause: a factor can go with
worse days because bad days make people notice it, or because something else drives both.
The page says so, shows the number of days behind every figure, and shows no figure unless
there are at least MIN_DAYS days on each side.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from diary.fields import FACTOR_CHOICES, SYMPTOM_NAMES

MIN_DAYS = 3  # on each side: fewer, and one odd day decides the figure


def day_score(entry) -> float:
    """A day's symptom score: the mean of its six symptom scores (each 0-10)."""
    return sum(getattr(entry, name) for name in SYMPTOM_NAMES) / len(SYMPTOM_NAMES)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class Comparison:
    """Days with and without one thing, and their average symptom scores (0-10)."""

    key: str
    with_label: str  # "days with screen work"
    without_label: str  # "days without"
    days_with: int
    days_without: int
    mean_with: float | None
    mean_without: float | None

    @property
    def enough(self) -> bool:
        return self.days_with >= MIN_DAYS and self.days_without >= MIN_DAYS

    @property
    def difference(self) -> float | None:
        """Average on days with minus days without; None without enough days."""
        if not self.enough or self.mean_with is None or self.mean_without is None:
            return None
        return self.mean_with - self.mean_without

    @property
    def sentence(self) -> str:
        if not self.enough:
            return (
                f"Not enough data yet: {self.days_with} {_days(self.days_with)} "
                f"{self.with_label.removeprefix('days ')} and {self.days_without} "
                f"{_days(self.days_without)} {self.without_label.removeprefix('days ')}. "
                f"A comparison needs at least {MIN_DAYS} of each."
            )
        diff = self.difference
        if abs(diff) < 0.05:
            how = "about the same as"
        else:
            how = f"{abs(diff):.1f} point{'s' if abs(diff) >= 1.05 else ''} " + (
                "higher (worse) than" if diff > 0 else "lower (better) than"
            )
        return (
            f"On {self.with_label} your average symptom score was {self.mean_with:.1f} "
            f"({self.days_with} {_days(self.days_with)}), {how} on {self.without_label}: "
            f"{self.mean_without:.1f} ({self.days_without} {_days(self.days_without)})."
        )


def _days(n: int) -> str:
    return "day" if n == 1 else "days"


def _compare(key: str, with_label: str, without_label: str, with_, without) -> Comparison:
    return Comparison(
        key=key,
        with_label=with_label,
        without_label=without_label,
        days_with=len(with_),
        days_without=len(without),
        mean_with=_mean(with_),
        mean_without=_mean(without),
    )


def factor_comparisons(entries: Iterable) -> list[Comparison]:
    """Each diary factor: days it was ticked against the other days with an entry."""
    entries = list(entries)
    out = []
    for code, label in FACTOR_CHOICES:
        with_ = [day_score(e) for e in entries if code in e.factors]
        without = [day_score(e) for e in entries if code not in e.factors]
        name = label[0].lower() + label[1:]
        out.append(_compare(code, f"days with {name}", "days without", with_, without))
    return out


def adherence_comparisons(
    entries: Iterable, doses: Mapping[str, Mapping[date, Sequence[str]]]
) -> list[Comparison]:
    """Each medicine: days with a dose missed or skipped against days every recorded dose was
    taken. Only days with a diary entry and at least one recorded dose of that medicine count.

    doses: medicine name -> day -> the statuses recorded that day ("taken", "missed", ...).
    """
    by_day = {e.date: day_score(e) for e in entries}
    out = []
    for name, days in sorted(doses.items(), key=lambda item: item[0].lower()):
        missed, taken = [], []
        for day, statuses in days.items():
            if day not in by_day or not statuses:
                continue
            (taken if all(s == "taken" for s in statuses) else missed).append(by_day[day])
        out.append(
            _compare(
                name,
                f"days you missed or skipped a dose of {name}",
                f"days you took every recorded dose of {name}",
                missed,
                taken,
            )
        )
    return out
