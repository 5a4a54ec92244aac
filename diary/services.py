"""Writes to the diary. Each service validates, encrypts and stores in one transaction."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from diary import crypto, dates, months
from diary.fields import (
    MEDICINE_CODES,
    MEDICINE_DOSE_MAX,
    MEDICINE_NAME_MAX,
    MEDICINE_NAMES,
    MEDICINE_OTHER,
    MEDICINE_UNIT_MAX,
    SCHEDULES,
    clean_dose_times,
    clean_entry_values,
    doses_on,
    medicine_code_for,
)
from diary.models import (
    DOSE_RECORD,
    DOSE_TALLY_RECORD,
    ENTRY_RECORD,
    MEDICINE_RECORD,
    QUESTIONNAIRE_RECORD,
    DailyEntry,
    DoseLog,
    DoseStatus,
    DoseTally,
    Instrument,
    Medicine,
    QuestionnaireResponse,
    SaveReceipt,
)
from diary.records import DoseView, EntryView, QuestionnaireView
from diary.selectors import (
    day_version,
    dose_checklist,
    dose_month_counts,
    entry_on,
    entry_view_of,
    patient_today,
)

logger = logging.getLogger(__name__)


class EntryAlreadyExists(Exception):
    """A create found the day already filled in; `entry` is the existing row."""

    def __init__(self, entry: DailyEntry):
        super().__init__("An entry for this day already exists.")
        self.entry = entry


def _refuse_outside_window(*, patient, day: date, field: str = "date") -> None:
    """A recorded day must lie in the patient's window (diary/dates.py): not in the future,
    not before the window's first day."""
    dates.check_days(patient=patient, **{field: day})


# --- Daily entries --------------------------------------------------------------------------
class _LostRace(Exception):
    """Another request created the same day between our read and our insert."""


@transaction.atomic
def entry_save(
    *, patient, entry_date: date, values: dict, create_only: bool = False
) -> tuple[DailyEntry, bool]:
    """Create or replace the patient's entry for a day. Returns (entry, created).

    Changing a day after it ended (in the patient's time zone) marks it as an amendment.
    With create_only, an existing day raises EntryAlreadyExists and nothing changes.
    """
    _refuse_outside_window(patient=patient, day=entry_date)
    payload = clean_entry_values(values)
    try:
        return _entry_write(patient, entry_date, payload, create_only)
    except _LostRace:
        # A double submit: the other request's row now exists, so this one updates it.
        return _entry_write(patient, entry_date, payload, create_only)


def _entry_write(patient, entry_date: date, payload: dict, create_only: bool):
    entry = DailyEntry.objects.select_for_update().filter(patient=patient, date=entry_date).first()
    if entry is not None and create_only:
        raise EntryAlreadyExists(entry)
    now = timezone.now()
    created = entry is None
    if created:
        entry = DailyEntry(id=uuid.uuid4(), patient=patient, date=entry_date, created_at=now)
    elif entry_date < patient_today(patient):
        entry.amended_at = now
    entry.updated_at = now
    entry.payload = crypto.encrypt_json(
        patient_id=patient.pk, record_type=ENTRY_RECORD, record_id=str(entry.id), payload=payload
    )
    # The patient is the signed-in user: checking that the foreign key exists would cost a query.
    entry.full_clean(exclude=["patient"], validate_unique=False, validate_constraints=False)
    if not created:
        # An update cannot break the unique (patient, date): no savepoint needed.
        entry.save(force_update=True)
        logger.info("diary entry updated patient=%s", patient.pk)
        return entry, created
    try:
        with transaction.atomic():
            entry.save(force_insert=True)
    except IntegrityError as exc:
        existing = DailyEntry.objects.get(patient=patient, date=entry_date)
        if create_only:
            raise EntryAlreadyExists(existing) from exc
        raise _LostRace from exc
    logger.info("diary entry created patient=%s", patient.pk)
    return entry, created


@transaction.atomic
def entry_delete(*, patient, entry_date: date) -> bool:
    deleted, _ = DailyEntry.objects.filter(patient=patient, date=entry_date).delete()
    if deleted:
        logger.info("diary entry deleted patient=%s", patient.pk)
    return bool(deleted)


# --- The whole day: entry and doses in one save -------------------------------------------
IDEMPOTENCY_KEY_MAX = 64


@dataclass(frozen=True)
class DaySaved:
    """What day_save did: "saved", or "duplicate" when the idempotency key was already applied
    (then nothing changed). `version` is the day's version token afterwards."""

    status: str
    date: date
    version: str
    # Whether this save created the day's entry, and the entry as stored (None when the
    # entry was not written: a duplicate, or doses only).
    created: bool = False
    entry: EntryView | None = None


class DayConflict(Exception):
    """The day changed since the client read it (base_version) and the stored values differ
    from the submitted ones: nothing was written. Carries what is stored now."""

    def __init__(self, *, entry_values: dict | None, doses: dict, version: str):
        super().__init__("This day was changed elsewhere since you opened it.")
        self.entry_values = entry_values
        self.doses = doses  # (medicine_id, slot) -> status or None
        self.version = version


class VersionMismatch(Exception):
    """An If-Match precondition failed: `version` is the day's current version."""

    def __init__(self, version: str):
        super().__init__("The day's version does not match.")
        self.version = version


def dose_field(medicine_id, slot: int) -> str:
    """A dose's field name on the day form and in validation errors."""
    return f"dose-{medicine_id}-{slot}"


def _clean_doses(*, patient, day: date, doses) -> tuple[list[tuple], dict]:
    """Check (medicine_id, slot, status) answers against the day's schedule; returns the
    answers with their DoseSlot, and the stored status of every slot of the day."""
    slots = {(str(s.medicine.id), s.slot): s for s in dose_checklist(patient=patient, day=day)}
    errors: dict[str, list[str]] = {}
    cleaned = []
    for medicine_id, slot, status in doses:
        name = dose_field(medicine_id, slot)
        found = slots.get((str(medicine_id), slot))
        if found is None:
            errors[name] = ["This medicine has no such dose scheduled on this day."]
        elif status not in DoseStatus.values:
            errors[name] = [f"Choose one of: {', '.join(DoseStatus.values)}."]
        else:
            cleaned.append((found, status))
    if errors:
        raise ValidationError(errors)
    return cleaned, {(s.medicine.id, s.slot): s.status for s in slots.values()}


def _receipt(patient, key: str) -> SaveReceipt | None:
    return SaveReceipt.objects.filter(patient=patient, key=key).first()


def _check_key(key: str) -> None:
    if len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise ValidationError(
            {"idempotency_key": [f"Use a key of at most {IDEMPOTENCY_KEY_MAX} plain characters."]}
        )


def _lock_day(patient, day: date) -> None:
    """Serialise saves of one patient's day until the transaction ends, so that the version and
    values compared below are still true when we write, even when the day has no row yet to
    lock (two first saves of a day at once). SQLite serialises writers by itself."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # One bigint key per (patient, day); a collision would only make a save wait.
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s)", [patient.pk * 1_000_000 + day.toordinal()]
            )
    else:
        DailyEntry.objects.select_for_update().filter(patient=patient, date=day).first()


def _stored_differs(stored_entry, payload, stored_doses, answers) -> bool:
    if payload is not None and stored_entry is not None and stored_entry.values() != payload:
        return True
    return any(
        stored_doses.get((slot.medicine.id, slot.slot)) not in (None, status)
        for slot, status in answers
    )


@transaction.atomic
def day_save(
    *,
    patient,
    entry_date: date,
    values: dict | None,
    doses=(),
    idempotency_key: str = "",
    base_version: str | None = None,
    if_match: str | None = None,
) -> DaySaved:
    """Save a patient's day, the entry (scores, flare, factors, note) and its dose answers, in
    one transaction: a bad part saves nothing.

    values None leaves the entry as it is (doses only). doses: (medicine_id, slot, status)
    answers; a dose not answered keeps what is stored. idempotency_key: a key already applied
    for this patient changes nothing and answers "duplicate". base_version (the version the
    client read; "" = the day was empty): when the day changed since and the stored values
    differ from the submitted ones, DayConflict and nothing is written. if_match: the version
    must equal the current one (VersionMismatch otherwise), whatever the values.
    """
    _refuse_outside_window(patient=patient, day=entry_date)
    if idempotency_key:
        _check_key(idempotency_key)
    if idempotency_key or doses or if_match is not None or base_version is not None:
        # A save that compares versions, answers doses or records a receipt holds the day.
        # A plain entry save needs no more than its row lock and the unique (patient, date)
        # (a lost race to create the row becomes an update: _entry_write).
        _lock_day(patient, entry_date)
    if idempotency_key:
        done = _receipt(patient, idempotency_key)
        if done is not None:
            return DaySaved(
                "duplicate", done.entry_date, day_version(patient=patient, day=done.entry_date)
            )
    payload = clean_entry_values(values) if values is not None else None
    # The schedule is read only when doses are answered (or a conflict must show them): most
    # saves are the entry alone, and this is the diary's hottest write.
    answers, stored_doses = (
        _clean_doses(patient=patient, day=entry_date, doses=doses) if doses else ([], None)
    )
    if payload is None and not answers:
        raise ValidationError({"non_field_errors": ["There is nothing to save for this day."]})
    current = (
        day_version(patient=patient, day=entry_date)
        if if_match is not None or base_version is not None
        else None
    )
    if if_match is not None and if_match != current:
        raise VersionMismatch(current)
    if base_version is not None and base_version != current:
        if stored_doses is None:
            stored_doses = _clean_doses(patient=patient, day=entry_date, doses=())[1]
        stored = entry_on(patient=patient, day=entry_date)
        if _stored_differs(stored, payload, stored_doses, answers):
            raise DayConflict(
                entry_values=stored.values() if stored else None,
                doses=stored_doses,
                version=current,
            )
    receipt = None
    if idempotency_key:
        try:
            with transaction.atomic():
                receipt = SaveReceipt.objects.create(
                    patient=patient, key=idempotency_key, entry_date=entry_date
                )
        except IntegrityError:
            # The same key in a request running at the same time: that one applied it.
            done = _receipt(patient, idempotency_key)
            return DaySaved(
                "duplicate", done.entry_date, day_version(patient=patient, day=done.entry_date)
            )
    now = timezone.now()
    written = created = None
    if payload is not None:
        try:
            written, created = _entry_write(patient, entry_date, payload, create_only=False)
        except _LostRace:
            written, created = _entry_write(patient, entry_date, payload, create_only=False)
    cache = crypto.DataKeyCache()
    for slot, status in answers:
        _dose_write(
            patient_id=patient.pk,
            medicine_id=slot.medicine.id,
            day=entry_date,
            slot=slot.slot,
            status=status,
            now=now,
            cache=cache,
        )
    version = day_version(
        patient=patient, day=entry_date, entry_updated=written.updated_at if written else None
    )
    if receipt is not None:
        receipt.version = version
        receipt.save(update_fields=["version"])
        _prune_receipts(patient=patient)  # receipts_prune (beat) forgets the rest
    logger.info("diary day saved patient=%s doses=%d", patient.pk, len(answers))
    view = entry_view_of(written, payload) if written else None
    return DaySaved("saved", entry_date, version, created=bool(created), entry=view)


def _prune_receipts(*, patient=None) -> int:
    cutoff = timezone.now() - timedelta(days=SaveReceipt.RECEIPT_DAYS)
    rows = SaveReceipt.objects.filter(created_at__lt=cutoff)
    if patient is not None:
        rows = rows.filter(patient=patient)
    return rows.delete()[0]


@transaction.atomic
def receipts_prune() -> int:
    """Forget idempotency keys older than SaveReceipt.RECEIPT_DAYS (all patients)."""
    return _prune_receipts()


# --- Medicines ------------------------------------------------------------------------------
def _medicine_identity(*, code: str | None, name: str) -> tuple[str, str, dict]:
    """(code, name, errors): a listed code names the medicine itself; "other" needs the typed
    name; no code (older API clients) matches the typed name to the list."""
    if code is None or code == "":
        return medicine_code_for(name) if isinstance(name, str) else MEDICINE_OTHER, name, {}
    if code not in MEDICINE_CODES:
        return code, name, {"code": [f"Choose one of: {', '.join(sorted(MEDICINE_CODES))}."]}
    if code != MEDICINE_OTHER:
        return code, MEDICINE_NAMES[code], {}
    return code, name, {}


def _clean_medicine(
    *, name: str, dose: str, unit: str, schedule: str, times=None, code: str | None = None
) -> dict:
    code, name, errors = _medicine_identity(code=code, name=name)
    for field, value, limit in (
        ("name", name, MEDICINE_NAME_MAX),
        ("dose", dose, MEDICINE_DOSE_MAX),
        ("unit", unit, MEDICINE_UNIT_MAX),
    ):
        if not isinstance(value, str) or (field == "name" and not value.strip()):
            errors[field] = ["This field is required."]
        elif len(value) > limit:
            errors[field] = [f"Keep this to {limit} characters."]
    if schedule not in SCHEDULES:
        errors["schedule"] = [f"Choose one of: {', '.join(SCHEDULES)}."]
    cleaned_times: list[str] = []
    if "schedule" not in errors:
        try:
            cleaned_times = clean_dose_times(schedule=schedule, times=times)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    data = {
        "code": code,
        "name": name.strip(),
        "dose": dose.strip(),
        "unit": unit.strip(),
        "schedule": schedule,
    }
    if cleaned_times:
        data["times"] = cleaned_times
    return data


def _seal_medicine(medicine: Medicine, data: dict) -> None:
    medicine.payload = crypto.encrypt_json(
        patient_id=medicine.patient_id,
        record_type=MEDICINE_RECORD,
        record_id=str(medicine.id),
        payload=data,
    )


@transaction.atomic
def medicine_add(
    *,
    patient,
    name: str,
    dose: str,
    unit: str,
    schedule: str,
    start_date: date,
    end_date: date | None = None,
    times=None,
    code: str | None = None,
) -> Medicine:
    """times: optional clock times of the day's doses ("08:00"), one per dose. code: an ATC
    code of diary.fields.MEDICINE_CHOICES (the name then comes from the list) or "other" with
    the typed `name`; without a code the name is matched to the list."""
    data = _clean_medicine(
        name=name, dose=dose, unit=unit, schedule=schedule, times=times, code=code
    )
    dates.check_days(patient=patient, planned=True, start_date=start_date, end_date=end_date)
    if end_date is not None and end_date < start_date:
        raise ValidationError({"end_date": ["The end date cannot be before the start date."]})
    data["history"] = [{"date": start_date.isoformat(), **_dose_fields(data)}]
    medicine = Medicine(id=uuid.uuid4(), patient=patient, start_date=start_date, end_date=end_date)
    _seal_medicine(medicine, data)
    medicine.full_clean(validate_constraints=False)
    medicine.save()
    logger.info("medicine added patient=%s", patient.pk)
    return medicine


def _dose_fields(data: dict) -> dict:
    return {"dose": data["dose"], "unit": data["unit"], "schedule": data["schedule"]}


def _locked_medicine(*, patient, medicine_id) -> Medicine:
    """The patient's own medicine, locked; someone else's id raises DoesNotExist (-> 404)."""
    return Medicine.objects.select_for_update().get(patient=patient, id=medicine_id)


@transaction.atomic
def medicine_update(
    *,
    patient,
    medicine_id,
    dose: str,
    unit: str,
    schedule: str,
    effective: date | None = None,
    times=None,
) -> Medicine:
    """Change the dose, unit or schedule; the change is kept in the medicine's history."""
    medicine = _locked_medicine(patient=patient, medicine_id=medicine_id)
    effective = effective or patient_today(patient)
    dates.check_days(patient=patient, planned=True, effective=effective)
    data = crypto.decrypt_json(
        patient_id=patient.pk,
        record_type=MEDICINE_RECORD,
        record_id=str(medicine.id),
        blob=medicine.payload,
    )
    if times is None and schedule == data["schedule"]:
        times = data.get("times")  # not given: the times stay while the schedule does
    new = _clean_medicine(
        name=data["name"],
        dose=dose,
        unit=unit,
        schedule=schedule,
        times=times,
        code=data.get("code") or medicine_code_for(data["name"]),
    )
    if effective < medicine.start_date:
        raise ValidationError({"effective": ["A change cannot take effect before the start date."]})
    history = data.get("history", []) + [{"date": effective.isoformat(), **_dose_fields(new)}]
    _seal_medicine(medicine, {**new, "history": history})
    medicine.updated_at = timezone.now()
    medicine.save(update_fields=["payload", "updated_at"])
    return medicine


@transaction.atomic
def medicine_stop(*, patient, medicine_id, end_date: date) -> Medicine:
    medicine = _locked_medicine(patient=patient, medicine_id=medicine_id)
    dates.check_days(patient=patient, planned=True, end_date=end_date)
    if end_date < medicine.start_date:
        raise ValidationError({"end_date": ["The end date cannot be before the start date."]})
    medicine.end_date = end_date
    medicine.updated_at = timezone.now()
    medicine.save(update_fields=["end_date", "updated_at"])
    return medicine


@transaction.atomic
def medicine_delete(*, patient, medicine_id) -> None:
    _locked_medicine(patient=patient, medicine_id=medicine_id).delete()


# --- Doses ----------------------------------------------------------------------------------
@transaction.atomic
def dose_log_set(
    *, patient, medicine_id, day: date, status: str, slot: int = 1, cache=None
) -> DoseView:
    """Record a scheduled dose as taken, missed or skipped (replacing an earlier answer)."""
    medicine = Medicine.objects.get(patient=patient, id=medicine_id)  # DoesNotExist -> 404
    _refuse_outside_window(patient=patient, day=day)
    if status not in DoseStatus.values:
        raise ValidationError({"status": [f"Choose one of: {', '.join(DoseStatus.values)}."]})
    data = crypto.decrypt_json(
        patient_id=patient.pk,
        record_type=MEDICINE_RECORD,
        record_id=str(medicine.id),
        blob=medicine.payload,
        cache=cache,
    )
    if not (medicine.start_date <= day and (medicine.end_date is None or day <= medicine.end_date)):
        raise ValidationError({"date": ["The medicine was not being taken on this day."]})
    due = doses_on(schedule=data["schedule"], start=medicine.start_date, day=day)
    if not 1 <= slot <= due:
        raise ValidationError({"slot": [f"This medicine has {due} scheduled dose(s) on this day."]})
    log = _dose_write(
        patient_id=patient.pk,
        medicine_id=medicine.id,
        day=day,
        slot=slot,
        status=status,
        now=timezone.now(),
        cache=cache,
    )
    return DoseView(
        id=log.id,
        medicine_id=medicine.id,
        date=day,
        slot=slot,
        status=status,
        recorded_at=log.recorded_at,
    )


def _dose_write(*, patient_id: int, medicine_id, day: date, slot: int, status: str, now, cache):
    """Create or replace the answer of one dose slot, its status sealed with the row's id
    ({"status": ...}, record type diary.dose). The caller has checked the status and slot."""
    try:
        return _dose_upsert(patient_id, medicine_id, day, slot, status, now, cache)
    except _LostRace:
        # Another request answered the same slot first: this answer replaces it.
        return _dose_upsert(patient_id, medicine_id, day, slot, status, now, cache)


def _dose_upsert(patient_id, medicine_id, day, slot, status, now, cache) -> DoseLog:
    log = (
        DoseLog.objects.select_for_update()
        .filter(medicine_id=medicine_id, date=day, slot=slot)
        .first()
    )
    created = log is None
    if created:
        log = DoseLog(id=uuid.uuid4(), medicine_id=medicine_id, date=day, slot=slot)
        before = None
    else:
        before = crypto.decrypt_json(
            patient_id=patient_id,
            record_type=DOSE_RECORD,
            record_id=str(log.id),
            blob=log.payload,
            cache=cache,
        )["status"]
    log.recorded_at = now
    log.payload = crypto.encrypt_json(
        patient_id=patient_id,
        record_type=DOSE_RECORD,
        record_id=str(log.id),
        payload={"status": status},
        cache=cache,
    )
    try:
        with transaction.atomic():
            log.save(force_insert=created)
    except IntegrityError as exc:
        raise _LostRace from exc
    if before != status:
        _tally_move(patient_id, medicine_id, months.month_start(day), before, status, cache)
    return log


def _seal_tally(patient_id: int, tally: DoseTally, counts: dict, cache) -> None:
    tally.payload = crypto.encrypt_json(
        patient_id=patient_id,
        record_type=DOSE_TALLY_RECORD,
        record_id=str(tally.id),
        payload={s: int(counts.get(s, 0)) for s in DoseStatus.values},
        cache=cache,
    )


def _tally_move(patient_id: int, medicine_id, month: date, before, after: str, cache) -> None:
    """One dose of the month changed from `before` (None: newly answered) to `after`: adjust
    the month's sealed tally, its row locked, inside the dose's transaction."""
    tally = DoseTally.objects.select_for_update().filter(medicine_id=medicine_id, month=month)
    row = tally.first()
    if row is None:
        row = DoseTally(id=uuid.uuid4(), medicine_id=medicine_id, month=month)
        _seal_tally(patient_id, row, {after: 1}, cache)
        try:
            with transaction.atomic():
                row.save(force_insert=True)
            return
        except IntegrityError:
            row = tally.get()  # another dose of the month created it first: adjust theirs
    counts = crypto.decrypt_json(
        patient_id=patient_id,
        record_type=DOSE_TALLY_RECORD,
        record_id=str(row.id),
        blob=row.payload,
        cache=cache,
    )
    if before is not None:
        counts[before] -= 1
    counts[after] = counts.get(after, 0) + 1
    _seal_tally(patient_id, row, counts, cache)
    row.save(update_fields=["payload"])


def dose_tallies_rebuild(*, medicine_ids) -> int:
    """Recount the sealed monthly tallies of these medicines from their doses (after a bulk
    load that wrote doses directly, such as the synthetic patients). Returns the tallies
    written. Locks the medicines, so no dose of theirs is written meanwhile."""
    with transaction.atomic():
        owners = dict(
            Medicine.objects.select_for_update()
            .filter(id__in=list(medicine_ids))
            .values_list("id", "patient_id")
        )
        DoseTally.objects.filter(medicine_id__in=list(owners)).delete()
        cache = crypto.DataKeyCache()
        cache.preload(set(owners.values()))
        tallies = []
        for (medicine_id, month), counts in dose_month_counts(owners, cache=cache).items():
            tally = DoseTally(id=uuid.uuid4(), medicine_id=medicine_id, month=month)
            _seal_tally(owners[medicine_id], tally, counts, cache)
            tallies.append(tally)
        DoseTally.objects.bulk_create(tallies, batch_size=2000)
    return len(tallies)


# --- Questionnaires (scoring lives with the instruments; this only stores) -----------------
@transaction.atomic
def questionnaire_response_save(
    *,
    patient,
    instrument: str,
    answers: dict,
    score: float | None,
    period_start: date,
    period_end: date,
    completed_at: datetime | None = None,
) -> QuestionnaireView:
    """Store a scored response; the answers and the score are sealed together in the payload
    ({"answers": ..., "score": ...}), only the instrument and the dates stay clear."""
    if instrument not in Instrument.values:
        raise ValidationError({"instrument": [f"Unknown instrument {instrument!r}."]})
    dates.check_days(patient=patient, period_start=period_start, period_end=period_end)
    if period_end < period_start:
        raise ValidationError({"period_end": ["The period cannot end before it starts."]})
    response = QuestionnaireResponse(
        id=uuid.uuid4(),
        patient=patient,
        instrument=instrument,
        period_start=period_start,
        period_end=period_end,
        completed_at=completed_at or timezone.now(),
    )
    response.payload = crypto.encrypt_json(
        patient_id=patient.pk,
        record_type=QUESTIONNAIRE_RECORD,
        record_id=str(response.id),
        payload={"answers": answers, "score": score},
    )
    response.full_clean(validate_constraints=False)
    response.save()
    return QuestionnaireView(
        id=response.id,
        patient_id=patient.pk,
        instrument=instrument,
        answers=answers,
        score=score,
        period_start=period_start,
        period_end=period_end,
        completed_at=response.completed_at,
    )


# --- Keys: rotation and erasure -------------------------------------------------------------
def keys_rotate(*, batch_size: int = 500, progress=None) -> dict[str, int]:
    """Rewrap every data key under the first KEK, batch by batch (resumable, idempotent).

    Each batch commits on its own, so an interrupted run keeps what it did and a rerun skips
    keys that are already current.
    """
    totals = {"rewrapped": 0, "already_current": 0, "destroyed": 0}
    after = 0
    while True:
        last, rewrapped, current, destroyed = crypto.rewrap_batch(
            after_id=after, batch_size=batch_size
        )
        if last == after:
            break
        after = last
        totals["rewrapped"] += rewrapped
        totals["already_current"] += current
        totals["destroyed"] += destroyed
        if progress:
            progress(totals)
    logger.info("key rotation done %s", totals)
    return totals


# Other apps may register a callable(patient) that removes what they hold about a patient
# before the user row goes (e.g. imaging files in storage). Diary rows cascade with the user.
ERASURE_HOOKS: list = []


def patient_erase(*, patient) -> None:
    """Right to erasure: destroy the data key first (crypto-shred), then delete the rows.

    The key is destroyed in its own committed transaction: if anything after it fails, what is
    left is already unreadable, in the database and in every backup.
    """
    with transaction.atomic():
        crypto.ensure_patient_key(patient.pk)
        crypto.destroy_patient_key(patient.pk)
    logger.info("patient data key destroyed patient=%s", patient.pk)
    with transaction.atomic():
        for hook in ERASURE_HOOKS:
            hook(patient)
        DoseLog.objects.filter(medicine__patient=patient).delete()
        for model in (DailyEntry, Medicine, QuestionnaireResponse):
            model.objects.filter(patient=patient).delete()
        patient_id = patient.pk
        patient.delete()
    logger.info("patient erased patient=%s", patient_id)
