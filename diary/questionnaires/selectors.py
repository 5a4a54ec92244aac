"""Reads about a patient's questionnaires: what is due, and the scored history.

Like diary.selectors, these read the given patient's own data; views pass request.user, and other
apps (the clinician summary) call them only after their own grant check.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Max
from django.utils.translation import gettext as _

from diary.models import QuestionnaireResponse
from diary.questionnaires.definitions import Band, Instrument, all_instruments, get_instrument
from diary.questionnaires.scoring import (
    Change,
    band_for,
    change_between,
    eq5d_profile,
    format_score,
    is_acceptable,
)
from diary.selectors import (
    patient_today,
    questionnaire_get,
    questionnaire_score_before,
    questionnaires_between,
)


@dataclass(frozen=True)
class InstrumentStatus:
    """When an instrument was last answered and when it is next due (its own rhythm)."""

    instrument: Instrument
    last_period_end: date | None
    next_due: date
    today: date

    @property
    def code(self) -> str:
        return self.instrument.code

    @property
    def is_due(self) -> bool:
        return self.next_due <= self.today

    @property
    def never_answered(self) -> bool:
        return self.last_period_end is None

    @property
    def days_overdue(self) -> int:
        return max(0, (self.today - self.next_due).days)

    @property
    def days_until_due(self) -> int:
        return max(0, (self.next_due - self.today).days)


def questionnaire_schedule(*, patient, today: date | None = None) -> list[InstrumentStatus]:
    """Every instrument with its due date: due once `due_every_days` have passed since the end
    of the last answered period (ESSPRI every 2 weeks, OSDI weekly, EQ-5D-5L monthly: data in
    diary/data/instruments/), and at once if never answered."""
    today = today or patient_today(patient)
    last = dict(
        QuestionnaireResponse.objects.filter(patient_id=patient.pk)
        .values("instrument")
        .annotate(last=Max("period_end"))
        .values_list("instrument", "last")
    )
    statuses = []
    for code, instrument in all_instruments().items():
        previous = last.get(code)
        next_due = previous + timedelta(days=instrument.due_every_days) if previous else today
        statuses.append(InstrumentStatus(instrument, previous, next_due, today))
    return statuses


def questionnaires_due(*, patient) -> list[InstrumentStatus]:
    """The instruments the patient should answer now (for the dashboard)."""
    return [s for s in questionnaire_schedule(patient=patient) if s.is_due]


@dataclass(frozen=True)
class ResponseRow:
    """One scored response with what it means: band, acceptable state, change since the last."""

    id: uuid.UUID
    instrument: Instrument
    answers: dict
    score: float | None
    period_start: date
    period_end: date
    completed_at: datetime
    band: Band | None
    acceptable: bool | None
    profile: str | None
    previous_score: float | None
    change: Change | None

    @property
    def score_text(self) -> str:
        return format_score(self.score)

    @property
    def change_text(self) -> str:
        if self.change is None:
            return ""
        return {
            Change.IMPROVED: _("Meaningful improvement"),
            Change.WORSENED: _("Meaningful worsening"),
            Change.NO_MEANINGFUL_CHANGE: _("No meaningful change"),
        }[self.change]

    @property
    def is_worsening(self) -> bool:
        return self.change is Change.WORSENED

    @property
    def is_improvement(self) -> bool:
        return self.change is Change.IMPROVED


def _profile(instrument: Instrument, answers: dict) -> str | None:
    dimensions = instrument.scoring.get("dimensions")
    if not dimensions:
        return None
    return eq5d_profile([int(answers[d]) for d in dimensions])


def _previous_score(*, patient, instrument: str, before: date) -> float | None:
    return questionnaire_score_before(patient=patient, instrument=instrument, period_end=before)


def _row(view, before: float | None) -> ResponseRow:
    definition = get_instrument(view.instrument)
    return ResponseRow(
        id=view.id,
        instrument=definition,
        answers=view.answers,
        score=view.score,
        period_start=view.period_start,
        period_end=view.period_end,
        completed_at=view.completed_at,
        band=band_for(definition, view.score),
        acceptable=is_acceptable(definition, view.score),
        profile=_profile(definition, view.answers),
        previous_score=before,
        change=change_between(definition, before, view.score),
    )


def questionnaire_history(
    *,
    patient,
    date_from: date | None = None,
    date_to: date | None = None,
    instrument: str | None = None,
    newest_first: bool = True,
) -> list[ResponseRow]:
    """Scored responses whose period ends in the range, each compared with the one before it
    (for the first in the range, with the last one before the range)."""
    views = questionnaires_between(
        patient=patient, date_from=date_from, date_to=date_to, instrument=instrument
    )
    previous: dict[str, float | None] = {}
    rows = []
    for view in views:  # oldest first
        if view.instrument not in previous:
            previous[view.instrument] = (
                _previous_score(patient=patient, instrument=view.instrument, before=date_from)
                if date_from
                else None
            )
        rows.append(_row(view, previous[view.instrument]))
        previous[view.instrument] = view.score
    if newest_first:
        rows.reverse()
    return rows


def questionnaire_row(*, patient, response_id) -> ResponseRow | None:
    """One of the patient's own responses, scored (None for anyone else's id)."""
    view = questionnaire_get(patient=patient, response_id=response_id)
    if view is None:
        return None
    before = questionnaire_score_before(
        patient=patient,
        instrument=view.instrument,
        period_end=view.period_end,
        completed_at=view.completed_at,
    )
    return _row(view, before)


def latest_rows(*, patient) -> dict[str, ResponseRow]:
    """Each instrument's most recent response, scored (only those rows are decrypted)."""
    found = {}
    for code in all_instruments():
        latest_id = (
            QuestionnaireResponse.objects.filter(patient_id=patient.pk, instrument=code)
            .order_by("-period_end", "-completed_at")
            .values_list("id", flat=True)
            .first()
        )
        if latest_id is not None:
            found[code] = questionnaire_row(patient=patient, response_id=latest_id)
    return found


def questionnaire_nudge_days(*, days_by_patient: dict[int, tuple[date, date]]) -> dict[int, date]:
    """For a batch of patients ({id: (today, first day)}), the day the most recent
    questionnaire fell due, for those with one due today. An instrument falls due
    `due_every_days` after the end of its last answered period (from the first day if never
    answered) and again every `due_every_days` while it stays unanswered, so a reminder keyed
    on this day nudges once per recall period, not every day."""
    if not days_by_patient:
        return {}
    last: dict[int, dict[str, date]] = {}
    rows = (
        QuestionnaireResponse.objects.filter(patient_id__in=list(days_by_patient))
        .values("patient_id", "instrument")
        .annotate(last=Max("period_end"))
        .values_list("patient_id", "instrument", "last")
    )
    for pid, code, end in rows:
        last.setdefault(pid, {})[code] = end
    instruments = all_instruments()
    found: dict[int, date] = {}
    for pid, (today, first_day) in days_by_patient.items():
        answered = last.get(pid, {})
        latest: date | None = None
        for code, instrument in instruments.items():
            period = timedelta(days=instrument.due_every_days)
            due = answered[code] + period if code in answered else first_day
            if due > today:
                continue
            due += period * ((today - due) // period)
            latest = due if latest is None or due > latest else latest
        if latest is not None:
            found[pid] = latest
    return found
