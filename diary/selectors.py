"""Reads of a patient's own diary, decrypted. Other apps call these after their own permission
check (e.g. consent's grant check); diary views pass request.user as the patient."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from operator import itemgetter
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, CharField, ExpressionWrapper, Max, Q, Value
from django.db.models.functions import Cast
from django.utils import timezone

from diary import crypto, months
from diary.fields import SYMPTOM_NAMES, doses_between, doses_on, medicine_code_for
from diary.models import (
    DOSE_RECORD,
    DOSE_TALLY_RECORD,
    ENTRY_RECORD,
    MEDICINE_RECORD,
    QUESTIONNAIRE_RECORD,
    DailyEntry,
    DoseLog,
    DoseTally,
    Medicine,
    QuestionnaireResponse,
)
from diary.records import (
    AdherenceRow,
    DoseChange,
    DoseSlot,
    DoseView,
    EntryScores,
    EntryView,
    MedicineView,
    QuestionnaireView,
)


# --- Time -----------------------------------------------------------------------------------
def patient_zone(patient) -> ZoneInfo:
    try:
        return ZoneInfo(patient.time_zone or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def patient_today(patient) -> date:
    """Today's date where the patient lives: a diary day is the patient's calendar day."""
    return timezone.localdate(timezone=patient_zone(patient))


def patient_first_day(patient) -> date:
    """The calendar day (in the patient's time zone) on which the patient signed up: no day
    before it can be 'missed'."""
    return timezone.localtime(patient.date_joined, patient_zone(patient)).date()


def missed_days(*, patient, days: int = 14) -> list[date]:
    """Days of the last `days` (today included) without an entry, newest first, never before
    the sign-up day."""
    today = patient_today(patient)
    first = max(today - timedelta(days=days - 1), patient_first_day(patient))
    if first > today:
        return []
    filled = entry_dates(patient=patient, date_from=first, date_to=today)
    span = (today - first).days + 1
    return [d for d in (today - timedelta(days=i) for i in range(span)) if d not in filled]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def version_token(stamp: datetime | None) -> str:
    """An opaque version: microseconds since the epoch, exact (no float rounding)."""
    return str((stamp - _EPOCH) // timedelta(microseconds=1)) if stamp else ""


def day_version(*, patient, day: date, entry_updated: datetime | None = None) -> str:
    """The version of a patient's day (its entry and its dose answers): the latest change of
    either, or "" when nothing is stored for the day. A save changes it; offline replays and
    If-Match compare it. entry_updated: the entry's updated_at when the caller has just
    written it (then it is not read again)."""
    updated = entry_updated or (
        DailyEntry.objects.filter(patient_id=patient.pk, date=day)
        .values_list("updated_at", flat=True)
        .first()
    )
    dosed = _latest_dose_change(patient_id=patient.pk, day=day)
    stamps = [s for s in (updated, dosed) if s is not None]
    return version_token(max(stamps)) if stamps else ""


def _latest_dose_change(*, patient_id: int, day: date) -> datetime | None:
    if connection.vendor != "postgresql":  # SQLite returns text for a raw MAX of a datetime
        return DoseLog.objects.filter(medicine__patient_id=patient_id, date=day).aggregate(
            latest=Max("recorded_at")
        )["latest"]
    # Read after every diary save (the new version): plain SQL, as the ORM's aggregate with
    # its join costs more to build than the query costs to run.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MAX(d.recorded_at) FROM {DoseLog._meta.db_table} d "  # noqa: S608 - names
            f"JOIN {Medicine._meta.db_table} m ON m.id = d.medicine_id "
            "WHERE m.patient_id = %s AND d.date = %s",
            [patient_id, day],
        )
        return cursor.fetchone()[0]


# --- Entries --------------------------------------------------------------------------------
_ENTRY_COLUMNS = (
    "id",
    "patient_id",
    "date",
    "payload",
    "created_at",
    "updated_at",
    "amended_at",
)


def _entry_views(rows: list[tuple], cache: crypto.DataKeyCache) -> list[EntryView]:
    payloads = crypto.decrypt_json_many(
        record_type=ENTRY_RECORD, rows=((r[1], str(r[0]), r[3]) for r in rows), cache=cache
    )
    return [_entry_view(row, data) for row, data in zip(rows, payloads, strict=True)]


def _entry_view(row: tuple, data: dict) -> EntryView:
    entry_id, patient_id, day, _, created, updated, amended = row
    return EntryView(
        id=entry_id,
        patient_id=patient_id,
        date=day,
        **{name: data[name] for name in SYMPTOM_NAMES},
        flare=data["flare"],
        factors=tuple(data["factors"]),
        note=data["note"],
        created_at=created,
        updated_at=updated,
        amended_at=amended,
    )


def entry_view_of(entry: DailyEntry, values: dict) -> EntryView:
    """The view of an entry just written, from its row and the values sealed in it (a save
    answers with what it stored without reading and decrypting it back)."""
    row = (entry.id, entry.patient_id, entry.date, None)
    return _entry_view((*row, entry.created_at, entry.updated_at, entry.amended_at), values)


def entries_between(*, patient, date_from: date | None, date_to: date | None) -> list[EntryView]:
    """The patient's entries from date_from to date_to inclusive (None = open), oldest first."""
    rows = DailyEntry.objects.filter(patient_id=patient.pk)
    if date_from:
        rows = rows.filter(date__gte=date_from)
    if date_to:
        rows = rows.filter(date__lte=date_to)
    return _entry_views(
        list(rows.order_by("date").values_list(*_ENTRY_COLUMNS)), crypto.DataKeyCache()
    )


def entry_on(*, patient, day: date) -> EntryView | None:
    row = (
        DailyEntry.objects.filter(patient_id=patient.pk, date=day)
        .values_list(*_ENTRY_COLUMNS)
        .first()
    )
    return _entry_views([row], crypto.DataKeyCache())[0] if row else None


def entry_exists(*, patient, day: date) -> bool:
    """Whether the patient has an entry on a day (nothing is decrypted)."""
    return DailyEntry.objects.filter(patient_id=patient.pk, date=day).exists()


def entry_before(*, patient, day: date) -> EntryView | None:
    """The most recent entry before a day: what 'same as yesterday' starts from."""
    row = (
        DailyEntry.objects.filter(patient_id=patient.pk, date__lt=day)
        .order_by("-date")
        .values_list(*_ENTRY_COLUMNS)
        .first()
    )
    return _entry_views([row], crypto.DataKeyCache())[0] if row else None


def entry_dates(*, patient, date_from: date, date_to: date) -> set[date]:
    return set(
        DailyEntry.objects.filter(
            patient_id=patient.pk, date__gte=date_from, date__lte=date_to
        ).values_list("date", flat=True)
    )


def entry_days_of_patients(
    *, patient_ids: Iterable[int], created_before: datetime, older_than: datetime | None = None
) -> dict[int, list[tuple[date, bool]]]:
    """(date, created before `older_than`) of every diary day of many patients that existed at
    an instant, in date order, by patient: clear columns only, nothing decrypted (registry
    export numbering). The comparison is made in SQL: an export reads a year of days per
    patient, and parsing each day's timestamp in Python cost more than the rest of the query.
    Without `older_than` the flag is False."""
    ids = list(patient_ids)
    out: dict[int, list[tuple[date, bool]]] = {pid: [] for pid in ids}
    older = (
        ExpressionWrapper(Q(created_at__lt=older_than), output_field=BooleanField())
        if older_than is not None
        else Value(False, output_field=BooleanField())
    )
    rows = (
        DailyEntry.objects.filter(patient_id__in=ids, created_at__lt=created_before)
        .annotate(older=older)
        .order_by("patient_id", "date")
        .values_list("patient_id", "date", "older")
    )
    for pid, day, was_older in rows.iterator(chunk_size=5000):
        out[pid].append((day, was_older))
    return out


def iter_entry_chunks(
    *, patient_ids: Iterable[int], chunk_size: int = 2000
) -> Iterator[list[EntryView]]:
    """Entries of many patients in (patient, date) order, decrypted one chunk at a time.

    Streams through a server-side cursor (QuerySet.iterator) so memory stays flat; keys are
    unwrapped per chunk and forgotten afterwards.
    """
    rows = (
        DailyEntry.objects.filter(patient_id__in=list(patient_ids))
        .order_by("patient_id", "date")
        .values_list(*_ENTRY_COLUMNS)
        .iterator(chunk_size=chunk_size)
    )
    yield from _decrypted_chunks(rows, chunk_size, _entry_views)


def _decrypted_chunks(rows: Iterator[tuple], chunk_size: int, decrypt) -> Iterator[list]:
    """Rows (patient id second) in chunks of chunk_size, each passed to decrypt(chunk, cache)
    with the chunk's patients' keys unwrapped in one query and forgotten afterwards."""
    while chunk := list(islice(rows, chunk_size)):
        cache = crypto.DataKeyCache()
        cache.preload({row[1] for row in chunk})
        yield decrypt(chunk, cache)


def _entries_changed(
    patient_ids: Iterable[int], updated_from: datetime | None, updated_before: datetime | None
):
    rows = DailyEntry.objects.filter(patient_id__in=list(patient_ids))
    if updated_from is not None:
        rows = rows.filter(updated_at__gte=updated_from)
    if updated_before is not None:
        rows = rows.filter(updated_at__lt=updated_before)
    return rows


def count_entries(
    *,
    patient_ids: Iterable[int],
    updated_from: datetime | None = None,
    updated_before: datetime | None = None,
) -> int:
    """How many entries iter_entry_scores will yield for a window of last changes (no
    decryption): the total of an export's progress bar."""
    return _entries_changed(patient_ids, updated_from, updated_before).count()


def iter_entry_scores(
    *,
    patient_ids: Iterable[int],
    updated_from: datetime | None = None,
    updated_before: datetime | None = None,
    chunk_size: int = 2000,
) -> Iterator[list[EntryScores]]:
    """Entries last changed in [updated_from, updated_before) of many patients, in (patient,
    date) order, decrypted one chunk at a time (registry exports: millions of rows).

    Like iter_entry_chunks, but the window is applied in SQL and only what an export writes is
    read: no note, and 'amended' as a boolean instead of three parsed timestamps.
    """
    entries = _entries_changed(patient_ids, updated_from, updated_before)
    # PostgreSQL writes the id as text (uuid::varchar is str(uuid.UUID)): no UUID object is
    # made and formatted again per row. Elsewhere (SQLite keeps 32 hex digits) str() does it.
    as_text = connection.vendor == "postgresql"
    if as_text:
        entries = entries.annotate(id_text=Cast("id", output_field=CharField()))
    rows = (
        entries.annotate(
            was_amended=ExpressionWrapper(Q(amended_at__isnull=False), output_field=BooleanField())
        )
        .order_by("patient_id", "date")
        .values_list("id_text" if as_text else "id", "patient_id", "date", "payload", "was_amended")
        .iterator(chunk_size=chunk_size)
    )
    decrypt = _entry_scores if as_text else _entry_scores_uuid
    yield from _decrypted_chunks(rows, chunk_size, decrypt)


_scores_of = itemgetter(*SYMPTOM_NAMES)
_new_tuple = tuple.__new__


def _entry_scores(rows: list[tuple], cache: crypto.DataKeyCache) -> list[EntryScores]:
    """Rows (id as text, patient id, date, payload, amended) decrypted into EntryScores."""
    keyed = [(r[1], r[0], r[3]) for r in rows]
    payloads = crypto.decrypt_json_many(record_type=ENTRY_RECORD, rows=keyed, cache=cache)
    # tuple.__new__ builds the named tuple without a Python-level __new__ call per row.
    return [
        _new_tuple(
            EntryScores,
            (
                row[1],
                row[0],
                row[2],
                _scores_of(data),
                data["flare"],
                tuple(data["factors"]),
                row[4],
            ),
        )
        for row, data in zip(rows, payloads, strict=True)
    ]


def _entry_scores_uuid(rows: list[tuple], cache: crypto.DataKeyCache) -> list[EntryScores]:
    return _entry_scores([(str(r[0]), *r[1:]) for r in rows], cache)


# --- Medicines ------------------------------------------------------------------------------
def _medicine_view(row: Medicine, cache: crypto.DataKeyCache) -> MedicineView:
    data = crypto.decrypt_json(
        patient_id=row.patient_id,
        record_type=MEDICINE_RECORD,
        record_id=str(row.id),
        blob=row.payload,
        cache=cache,
    )
    history = tuple(
        DoseChange(
            date=date.fromisoformat(h["date"]),
            dose=h["dose"],
            unit=h["unit"],
            schedule=h["schedule"],
        )
        for h in data.get("history", [])
    )
    return MedicineView(
        id=row.id,
        patient_id=row.patient_id,
        name=data["name"],
        dose=data["dose"],
        unit=data["unit"],
        schedule=data["schedule"],
        start_date=row.start_date,
        end_date=row.end_date,
        history=history,
        times=tuple(data.get("times", ())),
        # Medicines saved before the coded list have no code: their typed name is matched to
        # the list once here (exact name or alias, else "other"), and the blob is left as it is.
        code=data.get("code") or medicine_code_for(data["name"]),
    )


def medicines_for(*, patient, cache: crypto.DataKeyCache | None = None) -> list[MedicineView]:
    cache = cache or crypto.DataKeyCache()
    rows = Medicine.objects.filter(patient_id=patient.pk).order_by("start_date", "created_at")
    return [_medicine_view(row, cache) for row in rows]


def medicines_of_patients(*, patient_ids: Iterable[int]) -> dict[int, list[MedicineView]]:
    """Every medicine of many patients with one query and one key lookup (registry exports),
    by patient, each list in medicines_for's order."""
    ids = list(patient_ids)
    rows = Medicine.objects.filter(patient_id__in=ids)
    return _by_patient(ids, rows.order_by("patient_id", "start_date", "created_at"), _medicine_view)


def _by_patient(patient_ids: list[int], rows, view) -> dict[int, list]:
    """view(row, cache) of each row, grouped by patient in the rows' order; every patient's key
    unwrapped with one query."""
    cache = crypto.DataKeyCache()
    cache.preload(patient_ids)
    found: dict[int, list] = {pid: [] for pid in patient_ids}
    for row in rows:
        found[row.patient_id].append(view(row, cache))
    return found


def medicine_get(*, patient, medicine_id) -> MedicineView | None:
    """One of the patient's own medicines, or None (someone else's id looks like no id)."""
    row = Medicine.objects.filter(patient_id=patient.pk, id=medicine_id).first()
    return _medicine_view(row, crypto.DataKeyCache()) if row else None


def dose_checklist(*, patient, day: date) -> list[DoseSlot]:
    """Scheduled doses on one day with their recorded status (None = not yet recorded)."""
    meds = [m for m in medicines_for(patient=patient) if m.active_on(day)]
    logged = {
        (log.medicine_id, log.slot): log.status
        for log in dose_logs_between(patient=patient, date_from=day, date_to=day)
    }
    return [
        DoseSlot(medicine=m, slot=slot, status=logged.get((m.id, slot)))
        for m in meds
        for slot in range(1, doses_on(schedule=m.schedule, start=m.start_date, day=day) + 1)
    ]


_DOSE_COLUMNS = (
    "id",
    "medicine__patient_id",
    "medicine_id",
    "date",
    "slot",
    "payload",
    "recorded_at",
)


def _dose_views(rows: list[tuple], cache: crypto.DataKeyCache) -> list[DoseView]:
    """Rows of _DOSE_COLUMNS with their status decrypted, in the rows' order."""
    payloads = crypto.decrypt_json_many(
        record_type=DOSE_RECORD, rows=((r[1], str(r[0]), r[5]) for r in rows), cache=cache
    )
    return [
        DoseView(
            id=row[0],
            medicine_id=row[2],
            date=row[3],
            slot=row[4],
            status=data["status"],
            recorded_at=row[6],
        )
        for row, data in zip(rows, payloads, strict=True)
    ]


def dose_logs_between(*, patient, date_from: date, date_to: date) -> list[DoseView]:
    """The patient's recorded doses in the range, in (date, medicine, slot) order, decrypted."""
    rows = (
        DoseLog.objects.filter(
            medicine__patient_id=patient.pk, date__gte=date_from, date__lte=date_to
        )
        .order_by("date", "medicine_id", "slot")
        .values_list(*_DOSE_COLUMNS)
    )
    return _dose_views(list(rows), crypto.DataKeyCache())


def dose_status_counts_from_rows(*, patient, date_from: date, date_to: date) -> Counter:
    """(medicine id, status) -> how many doses were recorded so in the range, every dose row
    decrypted (the reference the tallies are checked against; see dose_status_counts)."""
    pid = patient.pk
    medicines = list(Medicine.objects.filter(patient_id=pid).values_list("id", flat=True))
    return _row_counts(pid, medicines, [(date_from, date_to)], crypto.DataKeyCache())


def dose_status_counts(
    *, patient, date_from: date, date_to: date, medicine_ids=None, cache=None
) -> Counter:
    """(medicine id, status) -> how many doses were recorded so in the range.

    The statuses are sealed. The whole calendar months inside the range are read from the
    sealed monthly tallies (one blob per medicine and month, kept by the dose write service),
    the days before and after them from the dose rows: a ten-year period of twenty medicines
    decrypts about 2,400 tallies and at most two months of doses instead of 73,000 doses
    (issue 16). The same counts as dose_status_counts_from_rows."""
    pid = patient.pk
    cache = cache or crypto.DataKeyCache()
    if medicine_ids is None:
        medicine_ids = Medicine.objects.filter(patient_id=pid).values_list("id", flat=True)
    medicine_ids = list(medicine_ids)
    if not medicine_ids:
        return Counter()
    whole, rest = months.split_whole_months(date_from, date_to)
    counts = _row_counts(pid, medicine_ids, rest, cache) if rest else Counter()
    if whole is not None:
        counts.update(_tally_counts(pid, medicine_ids, whole[0], whole[1], cache))
    return counts


def _tally_counts(pid: int, medicine_ids: list, first: date, last: date, cache) -> Counter:
    rows = DoseTally.objects.filter(
        medicine_id__in=medicine_ids, month__gte=first, month__lte=last
    ).values_list("id", "medicine_id", "payload")
    rows = list(rows)
    tallies = crypto.decrypt_json_many(
        record_type=DOSE_TALLY_RECORD,
        rows=[(pid, str(tally_id), blob) for tally_id, _, blob in rows],
        cache=cache,
    )
    counts: Counter = Counter()
    for (_, medicine, _), tally in zip(rows, tallies, strict=True):
        for status, n in tally.items():
            if n:
                counts[(medicine, status)] += n
    return counts


def _dose_rows_text(doses) -> list[tuple[str, str, bytes]]:
    """(dose id, medicine id, payload) of the doses, the ids as text straight from the cursor
    (no model or UUID object per row)."""
    if connection.vendor == "postgresql":
        doses = doses.annotate(
            id_text=Cast("id", output_field=CharField()),
            medicine_text=Cast("medicine_id", output_field=CharField()),
        )
        query = doses.values_list("id_text", "medicine_text", "payload").query
        sql, params = query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    # SQLite keeps 32 hex digits: str(UUID) formats them as the blobs' record ids
    return [(str(i), str(m), p) for i, m, p in doses.values_list("id", "medicine_id", "payload")]


def _row_counts(pid: int, medicine_ids: list, ranges: list, cache) -> Counter:
    """Dose rows of the medicines in the (first, last) ranges, decrypted and counted: one
    query, one key, one tight loop, the few possible plaintexts looked up, not parsed."""
    if not medicine_ids or not ranges:
        return Counter()
    medicines = {str(m): m for m in medicine_ids}
    within = Q()
    for first, last in ranges:
        within |= Q(date__gte=first, date__lte=last)
    rows = _dose_rows_text(DoseLog.objects.filter(within, medicine_id__in=medicine_ids))
    plain = crypto.decrypt_bytes_many(
        record_type=DOSE_RECORD,
        rows=[(pid, dose_id, blob) for dose_id, _, blob in rows],
        cache=cache,
    )
    tally: Counter = Counter()
    for (_, medicine, _), data in zip(rows, plain, strict=True):
        tally[(medicine, _dose_status(data))] += 1
    return Counter({(medicines[m], status): n for (m, status), n in tally.items()})


def _dose_status(data: bytes) -> str:
    status = _DOSE_PLAINTEXTS.get(data)
    return status if status is not None else crypto._decode_json(data)["status"]


def dose_month_counts(owners: dict, *, cache) -> dict[tuple, Counter]:
    """(medicine id, first day of month) -> Counter of statuses, from every dose row of the
    medicines (owners: medicine id -> patient id); what the sealed tallies must hold."""
    found: dict[tuple, Counter] = {}
    if not owners:
        return found
    doses = DoseLog.objects.filter(medicine_id__in=list(owners)).order_by("medicine_id")
    rows = list(doses.values_list("id", "medicine_id", "date", "payload"))
    plain = crypto.decrypt_bytes_many(
        record_type=DOSE_RECORD,
        rows=[(owners[m], str(i), blob) for i, m, _, blob in rows],
        cache=cache,
    )
    for (_, medicine, day, _), data in zip(rows, plain, strict=True):
        key = (medicine, months.month_start(day))
        found.setdefault(key, Counter())[_dose_status(data)] += 1
    return found


# The exact bytes crypto.encrypt_json writes for each status (compact separators).
_DOSE_PLAINTEXTS = {
    f'{{"status":"{status}"}}'.encode(): status for status in ("taken", "missed", "skipped")
}


def adherence(*, patient, date_from: date, date_to: date) -> list[AdherenceRow]:
    """Per medicine: doses expected by its schedule in the period, and what was recorded."""
    date_to = min(date_to, patient_today(patient))
    # The recorded doses are counted from the sealed monthly tallies and the rows around them
    # (their status is sealed), and the doses due counted arithmetically (doses_between).
    cache = crypto.DataKeyCache()
    medicines = medicines_for(patient=patient, cache=cache)
    counts = dose_status_counts(
        patient=patient,
        date_from=date_from,
        date_to=date_to,
        medicine_ids=[med.id for med in medicines],
        cache=cache,
    )
    rows = []
    for med in medicines:
        expected = _expected_doses(med, date_from, date_to)
        taken, missed, skipped = (counts[(med.id, s)] for s in ("taken", "missed", "skipped"))
        if expected == 0 and not (taken or missed or skipped):
            continue
        unrecorded = max(0, expected - taken - missed - skipped)
        rows.append(AdherenceRow(med, expected, taken, missed, skipped, unrecorded))
    return rows


def _expected_doses(med: MedicineView, date_from: date, date_to: date) -> int:
    last = min(date_to, med.end_date or date_to)
    return doses_between(schedule=med.schedule, start=med.start_date, first=date_from, last=last)


# --- Questionnaires -------------------------------------------------------------------------
def _questionnaire_view(row: QuestionnaireResponse, cache) -> QuestionnaireView:
    # The payload is {"answers": ..., "score": ...}: the score is sealed with the answers.
    data = crypto.decrypt_json(
        patient_id=row.patient_id,
        record_type=QUESTIONNAIRE_RECORD,
        record_id=str(row.id),
        blob=row.payload,
        cache=cache,
    )
    return QuestionnaireView(
        id=row.id,
        patient_id=row.patient_id,
        instrument=row.instrument,
        answers=data["answers"],
        score=data["score"],
        period_start=row.period_start,
        period_end=row.period_end,
        completed_at=row.completed_at,
    )


def questionnaires_between(
    *, patient, date_from: date | None, date_to: date | None, instrument: str | None = None
) -> list[QuestionnaireView]:
    """Responses whose period ends in the range, oldest first."""
    rows = QuestionnaireResponse.objects.filter(patient_id=patient.pk)
    if date_from:
        rows = rows.filter(period_end__gte=date_from)
    if date_to:
        rows = rows.filter(period_end__lte=date_to)
    if instrument:
        rows = rows.filter(instrument=instrument)
    cache = crypto.DataKeyCache()
    return [_questionnaire_view(r, cache) for r in rows.order_by("period_end", "completed_at")]


def questionnaires_of_patients(*, patient_ids: Iterable[int]) -> dict[int, list[QuestionnaireView]]:
    """Every response of many patients with one query and one key lookup (registry exports),
    by patient, oldest completion first."""
    ids = list(patient_ids)
    rows = QuestionnaireResponse.objects.filter(patient_id__in=ids)
    return _by_patient(ids, rows.order_by("patient_id", "completed_at", "id"), _questionnaire_view)


def questionnaire_get(*, patient, response_id) -> QuestionnaireView | None:
    row = QuestionnaireResponse.objects.filter(patient_id=patient.pk, id=response_id).first()
    return _questionnaire_view(row, crypto.DataKeyCache()) if row else None


def patients_with_entry_on(*, day_by_patient: dict[int, date]) -> set[int]:
    """Which of these patients already have an entry on the given day (each their own day):
    one query for a whole batch (reminders skip whoever has logged today)."""
    if not day_by_patient:
        return set()
    rows = DailyEntry.objects.filter(
        patient_id__in=list(day_by_patient), date__in=set(day_by_patient.values())
    ).values_list("patient_id", "date")
    return {pid for pid, day in rows if day_by_patient.get(pid) == day}


# --- Activity of many patients (the clinician's list) -----------------------------------------
@dataclass(frozen=True)
class DiaryActivity:
    """Counts of entries and flare days (the flare flag is decrypted, DESIGN.md section 3)."""

    last_entry: date | None
    entries_in_period: int
    flares_in_period: int
    flare_dates_in_period: tuple[date, ...]


def diary_activity(*, windows: dict[int, tuple[date, date]]) -> dict[int, DiaryActivity]:
    """For each patient id, the last entry up to the window's end, and the entries and flare
    days in the window [start, end] (each patient may have their own: their own 'today'), in two
    queries; the window's entries are decrypted in one batch for their flare flag. The caller
    has checked that it may see them."""
    if not windows:
        return {}
    ids = list(windows)
    first = min(w[0] for w in windows.values())
    last_end = max(w[1] for w in windows.values())
    last = dict(
        DailyEntry.objects.filter(patient_id__in=ids, date__lte=last_end)
        .values("patient_id")
        .annotate(last=Max("date"))
        .values_list("patient_id", "last")
    )
    for pid, day in list(last.items()):
        if day > windows[pid][1]:  # rare: another patient's window ends later
            last[pid] = DailyEntry.objects.filter(
                patient_id=pid, date__lte=windows[pid][1]
            ).aggregate(m=Max("date"))["m"]
    counts: Counter = Counter()
    flares: dict[int, list[date]] = {pid: [] for pid in ids}
    rows = DailyEntry.objects.filter(patient_id__in=ids, date__gte=first, date__lte=last_end)
    inside = [
        (pid, entry_id, day, blob)
        for entry_id, pid, day, blob in rows.order_by("patient_id").values_list(
            "id", "patient_id", "date", "payload"
        )
        if windows[pid][0] <= day <= windows[pid][1]
    ]
    cache = crypto.DataKeyCache()
    cache.preload({row[0] for row in inside})
    payloads = crypto.decrypt_json_many(
        record_type=ENTRY_RECORD,
        rows=((pid, str(entry_id), blob) for pid, entry_id, _, blob in inside),
        cache=cache,
    )
    for (pid, _, day, _), data in zip(inside, payloads, strict=True):
        counts[pid] += 1
        if data["flare"]:
            flares[pid].append(day)
    return {
        pid: DiaryActivity(
            last_entry=last.get(pid),
            entries_in_period=counts[pid],
            flares_in_period=len(flares[pid]),
            flare_dates_in_period=tuple(sorted(flares[pid])),
        )
        for pid in ids
    }


def _questionnaire_scores(rows, cache: crypto.DataKeyCache) -> Iterator[float | None]:
    """The sealed score of each (patient id, response id, payload) row, in order."""
    for data in crypto.decrypt_json_many(record_type=QUESTIONNAIRE_RECORD, rows=rows, cache=cache):
        yield data["score"]


def questionnaire_score_before(
    *, patient, instrument: str, period_end: date, completed_at: datetime | None = None
) -> float | None:
    """The score of the patient's latest response to an instrument before a point (periods
    ending before period_end, or with completed_at also those ending on it but completed
    earlier); None when there is none or it has no score. Only that one row is decrypted."""
    before = Q(period_end__lt=period_end)
    if completed_at is not None:
        before |= Q(period_end=period_end, completed_at__lt=completed_at)
    row = (
        QuestionnaireResponse.objects.filter(before, patient_id=patient.pk, instrument=instrument)
        .order_by("-period_end", "-completed_at")
        .values_list("patient_id", "id", "payload")
        .first()
    )
    if row is None:
        return None
    (score,) = _questionnaire_scores([(row[0], str(row[1]), row[2])], crypto.DataKeyCache())
    return score


def latest_scores_of_patients(
    *, patient_ids: Iterable[int], instrument: str, date_to: date, count: int = 2
) -> dict[int, list[tuple[date, float]]]:
    """The newest `count` scores of an instrument whose period ends on or before date_to, newest
    first, per patient. Scores are sealed: each patient's responses are decrypted newest first,
    only until `count` scores are found."""
    ids = list(patient_ids)
    found: dict[int, list[tuple[date, float]]] = {pid: [] for pid in ids}
    rows = (
        QuestionnaireResponse.objects.filter(
            patient_id__in=ids, instrument=instrument, period_end__lte=date_to
        )
        .order_by("patient_id", "-period_end", "-completed_at")
        .values_list("patient_id", "id", "period_end", "payload")
    )
    cache = crypto.DataKeyCache()
    cache.preload(ids)
    for pid, response_id, end, blob in rows:
        if len(found[pid]) >= count:
            continue
        (score,) = _questionnaire_scores([(pid, str(response_id), blob)], cache)
        if score is not None:
            found[pid].append((end, score))
    return found
