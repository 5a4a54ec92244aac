"""Questionnaire responses on past dates, scored by the app's own rules (tests and e2e)."""

from __future__ import annotations

from datetime import date, timedelta

from diary.questionnaires.definitions import get_instrument
from diary.questionnaires.scoring import score_answers
from diary.services import questionnaire_response_save


def answered_on(patient, code: str, day: date, answers: dict):
    definition = get_instrument(code)
    cleaned, result = score_answers(definition, answers)
    return questionnaire_response_save(
        patient=patient,
        instrument=code,
        answers=cleaned,
        score=result.score,
        period_start=day - timedelta(days=definition.recall_days - 1),
        period_end=day,
    )


def esspri(patient, day: date, dryness: int, fatigue: int, pain: int):
    return answered_on(
        patient, "esspri", day, {"dryness": dryness, "fatigue": fatigue, "pain": pain}
    )


def osdi(patient, day: date, level: int):
    """Every item answered with the same level (0-4): score = level * 25."""
    return answered_on(patient, "osdi", day, {f"q{i}": level for i in range(1, 13)})


def eq5d(patient, day: date, levels: tuple[int, int, int, int, int], vas: int):
    keys = ("MO", "SC", "UA", "PD", "AD")
    return answered_on(patient, "eq5d5l", day, {**dict(zip(keys, levels, strict=True)), "VAS": vas})
