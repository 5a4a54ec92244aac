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

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from diary.fields import FACTOR_CHOICES, SYMPTOM_NAMES

MIN_DAYS = 3  # on each side: fewer, and one odd day decides the figure


def day_score(entry) -> float:
    """A day's symptom score: the mean of its six symptom scores (each 0-10)."""
    return sum(getattr(entry, name) for name in SYMPTOM_NAMES) / len(SYMPTOM_NAMES)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class Comparison:
    """Days with and without one thing, and their average symptom scores (0-10). The labels and
    counted phrases are in the language that was active when it was made (a page's)."""

    key: str
    with_label: str  # "days with screen work"
    without_label: str  # "days without"
    days_with: int
    days_without: int
    mean_with: float | None
    mean_without: float | None
    with_counted: str = ""  # "0 days with screen work"
    without_counted: str = ""  # "8 days without"

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
            return _(
                "Not enough data yet: %(with_counted)s and %(without_counted)s. "
                "A comparison needs at least %(min)s of each."
            ) % {
                "with_counted": self.with_counted,
                "without_counted": self.without_counted,
                "min": MIN_DAYS,
            }
        diff = self.difference
        if abs(diff) < 0.05:
            how = _("about the same as")
        else:
            # "points" from 1.05 up: what rounds to 1.1 or more (one decimal shown).
            count = 1 if abs(diff) < 1.05 else 2
            values = {"diff": number_format(abs(diff), 1)}
            if diff > 0:
                how = (
                    ngettext(
                        "%(diff)s point higher (worse) than",
                        "%(diff)s points higher (worse) than",
                        count,
                    )
                    % values
                )
            else:
                how = (
                    ngettext(
                        "%(diff)s point lower (better) than",
                        "%(diff)s points lower (better) than",
                        count,
                    )
                    % values
                )
        return _(
            "On %(with_label)s your average symptom score was %(mean_with)s (%(days_with)s), "
            "%(how)s on %(without_label)s: %(mean_without)s (%(days_without)s)."
        ) % {
            "with_label": self.with_label,
            "mean_with": number_format(self.mean_with, 1),
            "days_with": _days(self.days_with),
            "how": how,
            "without_label": self.without_label,
            "mean_without": number_format(self.mean_without, 1),
            "days_without": _days(self.days_without),
        }


def _days(n: int) -> str:
    return ngettext("%(n)s day", "%(n)s days", n) % {"n": n}


# Each factor as it reads after "with" in a sentence, lower case (languages inflect it there;
# German, for one, puts it in the dative).
FACTOR_IN_SENTENCE: dict[str, str] = {
    "dry_air": gettext_noop("dry or heated air"),
    "air_conditioning": gettext_noop("air conditioning"),
    "screen_work": gettext_noop("screen work"),
    "poor_sleep": gettext_noop("poor sleep"),
    "stress": gettext_noop("stress"),
    "travel": gettext_noop("travel or flight"),
    "infection": gettext_noop("infection"),
    "other": gettext_noop("other"),
}


def _compare(key: str, labels: tuple[str, str, str, str], with_, without) -> Comparison:
    """labels: the with-label, the without-label, and the two counted phrases ("0 days with
    screen work"), all already in the active language."""
    with_label, without_label, with_counted, without_counted = labels
    return Comparison(
        key=key,
        with_label=with_label,
        without_label=without_label,
        days_with=len(with_),
        days_without=len(without),
        mean_with=_mean(with_),
        mean_without=_mean(without),
        with_counted=with_counted,
        without_counted=without_counted,
    )


def factor_comparisons(entries: Iterable) -> list[Comparison]:
    """Each diary factor: days it was ticked against the other days with an entry."""
    entries = list(entries)
    out = []
    for code, label in FACTOR_CHOICES:
        with_ = [day_score(e) for e in entries if code in e.factors]
        without = [day_score(e) for e in entries if code not in e.factors]
        name = _(FACTOR_IN_SENTENCE.get(code, label.lower()))
        values = {"factor": name}
        labels = (
            _("days with %(factor)s") % values,
            _("days without"),
            ngettext("%(n)s day with %(factor)s", "%(n)s days with %(factor)s", len(with_))
            % {**values, "n": len(with_)},
            ngettext("%(n)s day without", "%(n)s days without", len(without)) % {"n": len(without)},
        )
        out.append(_compare(code, labels, with_, without))
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
        values = {"name": name}
        labels = (
            _("days you missed or skipped a dose of %(name)s") % values,
            _("days you took every recorded dose of %(name)s") % values,
            ngettext(
                "%(n)s day you missed or skipped a dose of %(name)s",
                "%(n)s days you missed or skipped a dose of %(name)s",
                len(missed),
            )
            % {**values, "n": len(missed)},
            ngettext(
                "%(n)s day you took every recorded dose of %(name)s",
                "%(n)s days you took every recorded dose of %(name)s",
                len(taken),
            )
            % {**values, "n": len(taken)},
        )
        out.append(_compare(name, labels, missed, taken))
    return out
