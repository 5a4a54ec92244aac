"""Answering a questionnaire: validate, score, then store encrypted (diary.services)."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError

from diary.models import QuestionnaireResponse
from diary.questionnaires.definitions import UnknownInstrument, get_instrument
from diary.questionnaires.scoring import score_answers
from diary.selectors import patient_today
from diary.services import questionnaire_response_save


def questionnaire_submit(*, patient, instrument: str, answers: dict) -> QuestionnaireResponse:
    """Score a complete set of answers and store them for the recall period ending today.

    Raises ValidationError keyed by "instrument" or by item; nothing is stored on error.
    """
    try:
        definition = get_instrument(instrument)
    except UnknownInstrument:
        raise ValidationError({"instrument": [f"Unknown instrument {instrument!r}."]}) from None
    cleaned, result = score_answers(definition, answers)
    # The answers describe the instrument's recall period (ESSPRI: the last 2 weeks), which
    # ends on the patient's own calendar day.
    period_end = patient_today(patient)
    period_start = period_end - timedelta(days=definition.recall_days - 1)
    return questionnaire_response_save(
        patient=patient,
        instrument=definition.code,
        answers=cleaned,
        score=result.score,
        period_start=period_start,
        period_end=period_end,
    )
