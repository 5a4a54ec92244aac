"""Scoring of the questionnaire instruments: the one module that turns answers into scores.

The parameters (items, ranges, bands, thresholds) are data in diary/data/instruments/; the rules
below follow the instruments' published definitions:

- ESSPRI (Seror et al., Ann Rheum Dis 2011): the score is the mean of the three 0-10 scales
  (dryness, fatigue, pain). Patient acceptable symptom state (PASS): a score below 5; minimal
  clinically important improvement: a fall of at least 1 point or at least 15 % (Seror et al.,
  Ann Rheum Dis 2016). We apply the same thresholds upwards to flag a meaningful worsening.
- OSDI (Schiffman et al., Arch Ophthalmol 2000): each item 0-4, items 6-12 may be "not
  applicable"; OSDI = (sum of answered items) x 25 / (number of answered items), 0-100. Items
  1-5 (ocular symptoms) have no "not applicable" answer, so a complete OSDI has at least five
  answered items: scoring.min_answered is 5, and a "not applicable" answer is no answer (it
  counts neither in the sum nor in the number answered, and exports leave it out).
  Severity bands (Miller et al., Arch Ophthalmol 2010): normal 0-12, mild 13-22, moderate 23-32,
  severe 33-100. Scores are not always whole numbers (e.g. 12.5), so a band runs from its lower
  edge up to, not including, the next band's lower edge.
- EQ-5D-5L (Herdman et al., Qual Life Res 2011): five dimensions MO, SC, UA, PD, AD, each at
  level 1-5, reported as the 5-digit health profile in that order (e.g. "11213"); the EQ VAS is
  0-100. A utility index needs a country value set, so we keep the profile and use the VAS as the
  clear score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.core.exceptions import ValidationError

from diary.questionnaires.definitions import NOT_APPLICABLE, Band, Instrument, Item

# Scores are stored unrounded; comparisons against thresholds allow for float noise (6.67 - 5.67).
_EPSILON = 1e-9


class Change(StrEnum):
    IMPROVED = "improved"
    WORSENED = "worsened"
    NO_MEANINGFUL_CHANGE = "no_meaningful_change"


@dataclass(frozen=True)
class ScoreResult:
    instrument: str
    score: float | None
    answered: int
    band: Band | None = None
    acceptable: bool | None = None
    profile: str | None = None
    level_sum: int | None = None


class NotEnoughAnswers(ValueError):
    pass


# --- The published rules, as plain functions -----------------------------------------------
def mean_score(values: list[int]) -> float:
    """ESSPRI: the mean of the item scores."""
    if not values:
        raise NotEnoughAnswers("No item was answered.")
    return sum(values) / len(values)


def sum_scaled_score(values: list[int | None], *, scale: float, min_answered: int = 1) -> float:
    """OSDI: sum of the answered items x scale / number answered (None = not applicable)."""
    answered = [v for v in values if v is not None]
    if len(answered) < max(1, min_answered):
        raise NotEnoughAnswers(
            f"At least {max(1, min_answered)} item(s) must be answered to compute a score."
        )
    return sum(answered) * scale / len(answered)


def eq5d_profile(levels: list[int]) -> str:
    """EQ-5D-5L: the five levels, in MO, SC, UA, PD, AD order, as a 5-digit string."""
    if len(levels) != 5 or any(not 1 <= level <= 5 for level in levels):
        raise ValueError("An EQ-5D-5L profile has five levels from 1 to 5.")
    return "".join(str(level) for level in levels)


def band_for(instrument: Instrument, score: float | None) -> Band | None:
    """The band whose lower edge is the highest one not above the score."""
    if score is None:
        return None
    found = None
    for band in sorted(instrument.bands, key=lambda b: b.lower):
        if score + _EPSILON >= band.lower:
            found = band
    return found


def is_acceptable(instrument: Instrument, score: float | None) -> bool | None:
    """ESSPRI's acceptable state: strictly below the threshold (None where there is none)."""
    threshold = instrument.acceptable_below
    if threshold is None or score is None:
        return None
    return score < threshold - _EPSILON


def change_between(
    instrument: Instrument, previous: float | None, current: float | None
) -> Change | None:
    """Meaningful change from one score to the next (None if the instrument defines none).

    Improvement and worsening use the same thresholds (ESSPRI: at least 1 point or at least 15 %
    of the previous score), in the instrument's direction of better.
    """
    rule = instrument.scoring.get("meaningful_change")
    if rule is None or previous is None or current is None:
        return None
    delta = current - previous
    if instrument.lower_is_better:
        delta = -delta  # positive delta = better
    points = rule.get("points")
    relative = rule.get("relative")

    def meaningful(amount: float) -> bool:
        if amount <= _EPSILON:
            return False
        if points is not None and amount + _EPSILON >= points:
            return True
        return bool(relative) and previous > 0 and amount / previous + _EPSILON >= relative

    if meaningful(delta):
        return Change.IMPROVED
    if meaningful(-delta):
        return Change.WORSENED
    return Change.NO_MEANINGFUL_CHANGE


# --- Validation of raw answers ---------------------------------------------------------------
def _clean_item(item: Item, value: Any) -> tuple[int | str | None, str | None]:
    if value == NOT_APPLICABLE and item.allows_not_applicable:
        return NOT_APPLICABLE, None
    if isinstance(value, bool) or not isinstance(value, int):
        hint = f' or "{NOT_APPLICABLE}" (not applicable)' if item.allows_not_applicable else ""
        return None, f"Enter a whole number from {item.min_value} to {item.max_value}{hint}."
    if value not in item.values:
        return None, f"Must be from {item.min_value} to {item.max_value}."
    return value, None


def clean_answers(instrument: Instrument, answers: Any) -> dict[str, int | str]:
    """Check a complete set of answers; returns them in item order or raises ValidationError
    keyed by item (unknown keys under "non_field_errors")."""
    if not isinstance(answers, dict):
        raise ValidationError({"non_field_errors": ["Send the answers as an object by item."]})
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(map(str, answers)) - set(instrument.item_keys))
    if unknown:
        errors["non_field_errors"] = [
            f"Unknown item(s) for {instrument.short_name}: {', '.join(unknown)}."
        ]
    cleaned: dict[str, int | str] = {}
    for item in instrument.items:
        if item.key not in answers or answers[item.key] is None:
            errors[item.key] = ["This item is required."]
            continue
        value, error = _clean_item(item, answers[item.key])
        if error:
            errors[item.key] = [error]
        else:
            cleaned[item.key] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


# --- Scoring a cleaned response ------------------------------------------------------------
def _numeric(answers: dict, keys) -> list[int | None]:
    return [None if answers[k] == NOT_APPLICABLE else answers[k] for k in keys]


def score_cleaned(instrument: Instrument, answers: dict[str, int | str]) -> ScoreResult:
    """Score answers that passed clean_answers()."""
    method = instrument.scoring["method"]
    values = _numeric(answers, instrument.item_keys)
    answered = sum(v is not None for v in values)
    if method == "mean":
        score = mean_score([v for v in values if v is not None])
        return ScoreResult(
            instrument.code,
            score,
            answered,
            band_for(instrument, score),
            is_acceptable(instrument, score),
        )
    if method == "sum_scaled":
        try:
            score = sum_scaled_score(
                values,
                scale=instrument.scoring["scale"],
                min_answered=instrument.scoring.get("min_answered", 1),
            )
        except NotEnoughAnswers as exc:
            raise ValidationError({"non_field_errors": [str(exc)]}) from exc
        return ScoreResult(instrument.code, score, answered, band_for(instrument, score))
    if method == "eq5d_profile":
        levels = [int(answers[k]) for k in instrument.scoring["dimensions"]]
        vas = answers[instrument.scoring["vas_item"]]
        return ScoreResult(
            instrument.code,
            float(vas),
            answered,
            profile=eq5d_profile(levels),
            level_sum=sum(levels),
        )
    raise ValueError(f"Unknown scoring method {method!r}")  # the schema rules this out


def score_answers(instrument: Instrument, answers: Any) -> tuple[dict, ScoreResult]:
    cleaned = clean_answers(instrument, answers)
    return cleaned, score_cleaned(instrument, cleaned)


def format_score(score: float | None) -> str:
    """Scores are shown with at most one decimal (ESSPRI 5.67 -> 5.7, OSDI 50.0 -> 50)."""
    if score is None or math.isnan(score):
        return "-"
    text = f"{score:.1f}"
    return text[:-2] if text.endswith(".0") else text
