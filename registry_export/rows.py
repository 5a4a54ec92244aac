"""Plain rows the export writers consume, decoupled from the diary and consent models.

registry_export.sources builds them from the diary's and consent's selectors (already decrypted);
the writers never see a model, so they can be tested on hand-made rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from diary.records import EntryScores

# A diary day as the writers read it. The diary's bulk reader already returns exactly these plain
# rows (no note, no timestamps), so the millions of an export are not copied into another type.
EntryRow = EntryScores


@dataclass(frozen=True, slots=True)
class PatientRow:
    patient_id: int
    birth_year: int | None = None
    # Only filled for an NHS-linkage destination and a patient with linkage consent.
    nhs_number: str | None = None


@dataclass(frozen=True, slots=True)
class ConsentRow:
    patient_id: int
    scope: str
    given_at: datetime
    # The consent document version agreed to, as a canonical URL (consent.fhir.policy_uri).
    policy_uri: str = ""


@dataclass(frozen=True, slots=True)
class QuestionnaireRow:
    patient_id: int
    response_id: str
    instrument: str
    score: float | None
    completed_at: datetime
    period_start: date | None = None
    period_end: date | None = None
    # (item link id, answer) in the instrument's item order; answers are int, float, str or None
    # (None: not answered, e.g. an OSDI item the patient marked "not applicable").
    answers: tuple[tuple[str, object], ...] = ()
    # REDCap repeat instance: this response's place (from 1) among the patient's responses to
    # the same instrument, by completion time; 0 when unknown (hand-made rows).
    instance: int = 0


@dataclass(frozen=True, slots=True)
class MedicationRow:
    """A medicine as exports carry it: codes, strength and frequency only, never the patient's
    typed words (a typed name, dose or unit can hold anything, even a name; issue 11)."""

    patient_id: int
    medicine_id: str
    # ATC code (diary.fields.MEDICINE_CHOICES) or "other" (the typed name is not exported).
    code: str
    # The dose as a plain decimal ("200", "0.5"), or "" when it was not a number.
    strength: str = ""
    # UCUM code of the unit ("mg", "[drp]"), or "" when the typed unit is not a known one.
    unit: str = ""
    # Schedule code (diary.fields.SCHEDULES).
    frequency: str = ""
    start: date | None = None
    end: date | None = None


@dataclass(slots=True)
class PatientData:
    """Everything one run writes about one patient (one patient's rows only in memory)."""

    patient: PatientRow
    consent: ConsentRow | None = None
    entries: list[EntryRow] = field(default_factory=list)
    questionnaires: list[QuestionnaireRow] = field(default_factory=list)
    medications: list[MedicationRow] = field(default_factory=list)
    # REDCap repeat instance of each of the patient's diary days that exist at the snapshot
    # (the day's place in date order, from 1); None when not read (hand-made rows).
    entry_instances: dict[date, int] | None = None
    # Diary days outside the run's window whose instance moved because an earlier day was
    # back-filled in the window: REDCap rows are written again for them (docs/registry_redcap.md).
    renumbered: list[EntryRow] = field(default_factory=list)

    @property
    def source_rows(self) -> int:
        """Units of progress: diary records read for this patient."""
        return len(self.entries) + len(self.questionnaires) + len(self.medications)
