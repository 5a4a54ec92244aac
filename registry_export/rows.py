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
    # (item link id, answer) in the instrument's item order; answers are int, float, str or None.
    answers: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True, slots=True)
class MedicationRow:
    patient_id: int
    medicine_id: str
    name: str
    dose: str = ""
    unit: str = ""
    schedule: str = ""
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

    @property
    def source_rows(self) -> int:
        """Units of progress: diary records read for this patient."""
        return len(self.entries) + len(self.questionnaires) + len(self.medications)
