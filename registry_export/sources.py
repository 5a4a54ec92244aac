"""What an export reads, only through the diary's and consent's selectors (DESIGN.md section 1).

Every function returns plain rows (registry_export.rows); nothing here touches another app's
tables. The diary selectors decrypt per chunk, so memory stays bounded by one chunk plus one
batch of patients' questionnaires and medicines.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby
from operator import attrgetter

from accounts import selectors as accounts_selectors
from consent import selectors as consent_selectors
from consent.fhir import policy_uri
from diary import selectors as diary_selectors
from diary.questionnaires.definitions import NOT_APPLICABLE
from registry_export.formats.vocabulary import strength_of, ucum_unit
from registry_export.rows import (
    ConsentRow,
    EntryRow,
    MedicationRow,
    PatientData,
    PatientRow,
    QuestionnaireRow,
)

# Patients whose questionnaires, medicines and consents are fetched together.
PATIENT_BATCH = 200
ENTRY_CHUNK = 2000


@dataclass(frozen=True)
class Selection:
    """What one run reads: the consent it needs and the window of changes it covers."""

    scope: str
    registry_id: int | None
    # Consent snapshot time; also the end of the period (exclusive).
    at: datetime
    # Start of the period (inclusive); None for a full export.
    since: datetime | None
    linkage: bool


def _registry(selection: Selection):
    if selection.registry_id is None:
        return None
    from consent.models import Registry

    return Registry.objects.get(pk=selection.registry_id)


def consenting_patient_ids(*, selection: Selection) -> list[int]:
    """Patients whose consent for the scope is in force at the snapshot time, in id order."""
    ids = consent_selectors.patients_with_active_consent(
        scope=selection.scope, at=selection.at, registry=_registry(selection)
    )
    return sorted(int(pk) for pk in ids)


def _in_window(changed: datetime, selection: Selection) -> bool:
    # Changes at or after the snapshot belong to the next run, so a re-run of this period
    # reads the same rows and the next incremental run picks the later change up.
    if changed >= selection.at:
        return False
    return selection.since is None or changed >= selection.since


def _consent_row(
    patient_id: int, history, selection: Selection, uris: dict[int, str]
) -> ConsentRow | None:
    """The consent event in force at the snapshot (the latest one on the topic); `history` is
    the patient's consent events, newest first. `uris` keeps each document's policy URI, which
    needs the document's registry (a query each time otherwise: a few documents, many patients).
    """
    for event in history:
        if event.occurred_at > selection.at or event.scope != selection.scope:
            continue
        if selection.registry_id is not None and event.registry_id != selection.registry_id:
            continue
        if event.action != "give":
            return None
        return ConsentRow(
            patient_id=patient_id,
            scope=event.scope,
            given_at=event.occurred_at,
            policy_uri=uris.get(event.document_id)
            or uris.setdefault(event.document_id, policy_uri(event)),
        )
    return None


def _questionnaires(patient_id: int, views, selection: Selection) -> list[QuestionnaireRow]:
    """The responses completed in the window, each numbered (from 1) among the patient's
    responses to its instrument completed before the snapshot: a later response always comes
    last, so the numbers of earlier ones never move."""
    rows = []
    counts: dict[str, int] = {}
    for q in sorted(views, key=lambda v: (v.completed_at, str(v.id))):
        if q.completed_at >= selection.at:
            continue
        counts[q.instrument] = instance = counts.get(q.instrument, 0) + 1
        if not _in_window(q.completed_at, selection):
            continue
        answers = q.answers if isinstance(q.answers, dict) else {}
        rows.append(
            QuestionnaireRow(
                patient_id=patient_id,
                response_id=str(q.id),
                instrument=q.instrument,
                score=q.score,
                completed_at=q.completed_at,
                period_start=q.period_start,
                period_end=q.period_end,
                answers=tuple((str(k), _answer(v)) for k, v in answers.items()),
                instance=instance,
            )
        )
    return rows


def _answer(value: object) -> object:
    # "Not applicable" (OSDI items 6-12) is no answer at all, not a value of an integer item.
    if value == NOT_APPLICABLE:
        return None
    return value if isinstance(value, bool | int | float | str) or value is None else str(value)


def _medications(patient_id: int, medicines, selection: Selection) -> list[MedicationRow]:
    """The medicine list as it stood on the snapshot day: the list is small, so it is exported
    whole each run. Only facts dated up to that day are used (start, dose changes, a stop), so
    a re-run of the same period writes the same statements whatever was recorded since.

    Only codes leave: the medicine's ATC code (or "other"), the dose when it is a plain number,
    the unit when it is a known UCUM unit, and the schedule code; no typed text."""
    as_of = selection.at.date()
    rows = []
    for m in medicines:
        if m.start_date > as_of:
            continue
        dose, unit, schedule = m.dose, m.unit, m.schedule
        changes = [h for h in m.history if h.date <= as_of]
        if changes and changes[-1] != m.history[-1]:
            last = changes[-1]
            dose, unit, schedule = last.dose, last.unit, last.schedule
        ucum = ucum_unit(unit)
        rows.append(
            MedicationRow(
                patient_id=patient_id,
                medicine_id=str(m.id),
                code=m.code,
                # A dose means nothing without its unit: both, or neither.
                strength=strength_of(dose) if ucum else "",
                unit=ucum if strength_of(dose) else "",
                frequency=schedule,
                start=m.start_date,
                # A stop dated after the snapshot day is not known yet on that day.
                end=m.end_date if m.end_date is not None and m.end_date <= as_of else None,
            )
        )
    return rows


def _numbering(days: list[tuple[date, bool]], selection: Selection):
    """(instance of each diary day, first day renumbered by a back-fill or None); `days` are the
    patient's (date, created before the window) in date order.

    A day's REDCap instance is its place in date order among the patient's days that exist at
    the snapshot. A day filled in during the window before a day created earlier moves every
    later day up by one: those later days are written again (docs/registry_redcap.md)."""
    instances = {day: n for n, (day, _) in enumerate(days, start=1)}
    if selection.since is None:
        return instances, None
    older = [day for day, before_window in days if before_window]
    if not older:
        return instances, None
    latest_older = max(older)
    backfilled = [day for day, before_window in days if not before_window and day < latest_older]
    return instances, (min(backfilled) if backfilled else None)


def _renumbered(patient_id: int, shifted_from: date, selection: Selection, written) -> list:
    """The patient's days from `shifted_from` on that the window did not bring (their REDCap
    instance moved); read only for the rare patient who back-filled a day."""
    have = {e.date for e in written}
    out = []
    for chunk in diary_selectors.iter_entry_scores(
        patient_ids=[patient_id], updated_before=selection.at, chunk_size=ENTRY_CHUNK
    ):
        out += [e for e in chunk if e.date > shifted_from and e.date not in have]
    return out


def _entries(patient_ids: list[int], selection: Selection) -> Iterator[tuple[int, list[EntryRow]]]:
    """(patient id, that patient's entries in the window), in patient order."""

    def rows():
        for chunk in diary_selectors.iter_entry_scores(
            patient_ids=patient_ids,
            updated_from=selection.since,
            updated_before=selection.at,
            chunk_size=ENTRY_CHUNK,
        ):
            yield from chunk

    for patient_id, group in groupby(rows(), key=attrgetter("patient_id")):
        yield patient_id, list(group)


def iter_patient_data(*, patient_ids: list[int], selection: Selection) -> Iterator[PatientData]:
    """One PatientData per patient, in the given (ascending id) order.

    Patients are read in batches: one query each for their consents, questionnaires, medicines
    and years of birth, and one streamed, windowed read of their entries.
    """
    uris: dict[int, str] = {}
    for start in range(0, len(patient_ids), PATIENT_BATCH):
        batch = patient_ids[start : start + PATIENT_BATCH]
        entries = _entries(batch, selection)
        years = accounts_selectors.birth_years(patient_ids=batch)
        histories = consent_selectors.consent_histories(patient_ids=batch)
        questionnaires = diary_selectors.questionnaires_of_patients(patient_ids=batch)
        medicines = diary_selectors.medicines_of_patients(patient_ids=batch)
        days = diary_selectors.entry_days_of_patients(
            patient_ids=batch, created_before=selection.at, older_than=selection.since
        )
        nhs_numbers = (
            consent_selectors.nhs_numbers_for_linkage(patient_ids=batch, at=selection.at)
            if selection.linkage
            else {}
        )
        pending = next(entries, None)
        for pid in batch:
            data = PatientData(
                # Only ever the year of birth (the user model keeps no birth date).
                patient=PatientRow(
                    patient_id=pid, birth_year=years.get(pid), nhs_number=nhs_numbers.get(pid)
                ),
                consent=_consent_row(pid, histories[pid], selection, uris),
                questionnaires=_questionnaires(pid, questionnaires[pid], selection),
                medications=_medications(pid, medicines[pid], selection),
            )
            if pending is not None and pending[0] == pid:
                data.entries = pending[1]
                pending = next(entries, None)
            data.entry_instances, shifted_from = _numbering(days[pid], selection)
            if shifted_from is not None:
                data.renumbered = _renumbered(pid, shifted_from, selection, data.entries)
            yield data


def count_source_rows(*, patient_ids: list[int], selection: Selection) -> int:
    """The progress units of a partition: the diary entries it will write (they dominate)."""
    return diary_selectors.count_entries(
        patient_ids=patient_ids, updated_from=selection.since, updated_before=selection.at
    )
