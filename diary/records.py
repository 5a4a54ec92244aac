"""Decrypted, read-only views of diary rows: what selectors hand to views and other apps."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class EntryView:
    id: uuid.UUID
    patient_id: int
    date: date
    dryness_eyes: int
    dryness_mouth: int
    dryness_skin: int
    fatigue: int
    muscle_pain: int
    joint_pain: int
    flare: bool
    factors: tuple[str, ...]
    note: str
    created_at: datetime
    updated_at: datetime
    amended_at: datetime | None

    @property
    def is_amended(self) -> bool:
        return self.amended_at is not None

    def values(self) -> dict:
        """The editable fields, as the form, the API and 'same as yesterday' use them."""
        from diary.fields import ENTRY_FIELDS

        data = {name: getattr(self, name) for name in ENTRY_FIELDS}
        data["factors"] = list(self.factors)
        return data


class EntryScores(NamedTuple):
    """One diary day without its free-text note or timestamps: what bulk readers (registry
    exports) use. Read without parsing three timestamps and a UUID per row, which at millions of
    rows costs more than the decryption. A named tuple (immutable like the frozen views, and
    made in C: a frozen dataclass's __init__ costs more per row than the decryption does)."""

    patient_id: int
    entry_id: str
    date: date
    # The symptom scores 0-10 (None when not recorded), in diary.fields.SYMPTOM_NAMES order.
    scores: tuple[int | None, ...]
    flare: bool | None
    factors: tuple[str, ...] = ()
    # Changed after its own day (amended_at is set).
    amended: bool = False


@dataclass(frozen=True, slots=True)
class DoseChange:
    date: date
    dose: str
    unit: str
    schedule: str


@dataclass(frozen=True, slots=True)
class MedicineView:
    id: uuid.UUID
    patient_id: int
    name: str
    dose: str
    unit: str
    schedule: str
    start_date: date
    end_date: date | None
    history: tuple[DoseChange, ...] = field(default_factory=tuple)
    # Optional clock times ("08:00") of the doses of a scheduled day, one per dose, in order.
    times: tuple[str, ...] = ()
    # ATC code from diary.fields.MEDICINE_CHOICES, or "other" (then `name` is the typed name).
    code: str = "other"

    @property
    def schedule_label(self) -> str:
        from diary.fields import SCHEDULES

        return SCHEDULES.get(self.schedule, (self.schedule,))[0]

    def active_on(self, day: date) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)


@dataclass(frozen=True, slots=True)
class AdherenceRow:
    medicine: MedicineView
    expected: int
    taken: int
    missed: int
    skipped: int
    unrecorded: int

    @property
    def percent(self) -> float | None:
        """Taken as a share of the doses that were due and not deliberately skipped."""
        due = self.expected - self.skipped
        return round(100 * self.taken / due, 1) if due > 0 else None


@dataclass(frozen=True, slots=True)
class DoseView:
    """One recorded dose, its status decrypted (DoseLog.payload)."""

    id: uuid.UUID
    medicine_id: uuid.UUID
    date: date
    slot: int
    status: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class DoseSlot:
    medicine: MedicineView
    slot: int
    status: str | None

    @property
    def time(self) -> str:
        """The dose's clock time when the medicine has times ("" otherwise)."""
        times = self.medicine.times
        return times[self.slot - 1] if len(times) >= self.slot else ""

    @property
    def field_name(self) -> str:
        """The stable form field of this dose on the day form (offline replay relies on it)."""
        return f"dose-{self.medicine.id}-{self.slot}"


@dataclass(frozen=True, slots=True)
class QuestionnaireView:
    id: uuid.UUID
    patient_id: int
    instrument: str
    answers: dict
    score: float | None
    period_start: date
    period_end: date
    completed_at: datetime
