"""Synthetic patients with realistic, encrypted diaries, generated fast for demos, tests and
benchmarks (`seed_demo --patients N --days D`).

Each patient gets a latent disease activity that drifts day to day (an AR(1) process), flares
(episodes of a few days with higher fatigue and pain), six symptom scores that follow the
activity with their own baselines, a few medicines with dose logs, and an ESSPRI every two weeks
scored as the instrument defines it (the mean of the dryness, fatigue and pain items, 0-10).
Rows are written with PostgreSQL COPY (bulk_create elsewhere) in batches of patients, so memory
stays flat whatever N is. All payloads go through diary/crypto.py, exactly as the app stores them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Role, User
from diary import crypto
from diary.fields import FACTOR_CHOICES, SYMPTOM_NAMES, doses_on
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
    Medicine,
    PatientKey,
    QuestionnaireResponse,
)

PATIENTS_PER_BATCH = 100
DOSE_LOG_DAYS = 90  # the checklist is newer than the diary for most people
ESSPRI_EVERY = 14
FACTORS = [code for code, _ in FACTOR_CHOICES]
# name, dose, unit, schedule, share of patients taking it
MEDICINE_MENU = [
    ("Hydroxychloroquine", "200", "mg", "twice_daily", 0.65),
    ("Pilocarpine", "5", "mg", "three_times_daily", 0.35),
    ("Artificial tears", "1", "drop", "as_needed", 0.8),
    ("Prednisolone", "5", "mg", "once_daily", 0.12),
    ("Methotrexate", "15", "mg", "weekly", 0.15),
    ("Ciclosporin eye drops", "1", "drop", "twice_daily", 0.2),
]
NOTES = [
    "Eyes gritty all morning.",
    "Slept badly, very tired.",
    "Good day, walked for an hour.",
    "Mouth very dry at night.",
    "Joints stiff in the morning.",
    "Long day at the screen.",
]


@dataclass
class Rows:
    keys: list = field(default_factory=list)
    entries: list = field(default_factory=list)
    medicines: list = field(default_factory=list)
    doses: list = field(default_factory=list)
    tallies: list = field(default_factory=list)
    questionnaires: list = field(default_factory=list)


# --- Series ---------------------------------------------------------------------------------
def symptom_series(rng: np.random.Generator, days: int) -> tuple[np.ndarray, np.ndarray]:
    """(days x 6 int scores 0-10, flare flags): correlated through one latent activity."""
    activity = np.empty(days)
    level = rng.normal(0, 1)
    for i in range(days):
        level = 0.92 * level + rng.normal(0, 0.35)
        activity[i] = level
    flare = np.zeros(days, dtype=bool)
    day = int(rng.integers(5, 60))
    while day < days:
        flare[day : day + int(rng.integers(3, 11))] = True
        day += int(rng.integers(30, 120))
    baseline = np.array([6.0, 6.0, 4.0, 5.5, 4.0, 4.5]) + rng.normal(0, 1.2, 6)
    loading = np.array([0.8, 0.8, 0.5, 1.2, 1.0, 1.1])
    boost = np.array([0.5, 0.5, 0.3, 2.5, 2.0, 2.5])
    raw = (
        baseline
        + np.outer(activity, loading)
        + np.outer(flare, boost)
        + rng.normal(0, 0.7, (days, 6))
    )
    return np.clip(np.rint(raw), 0, 10).astype(int), flare


def _factors(rng: np.random.Generator, scores: np.ndarray, flare: bool) -> list[str]:
    chosen = [f for f in FACTORS if rng.random() < 0.06]
    if scores[3] >= 7 and rng.random() < 0.5:
        chosen.append("poor_sleep")
    if flare and rng.random() < 0.4:
        chosen.append("stress")
    return [f for f in FACTORS if f in set(chosen)]


# --- One patient ----------------------------------------------------------------------------
def _stamp(day: date, hour: int = 20) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def _patient_rows(rows: Rows, rng, patient_id: int, first: date, days: int, completeness: float):
    cache = crypto.DataKeyCache()
    rows.keys.append(cache.add_new(patient_id))
    scores, flares = symptom_series(rng, days)
    kept = rng.random(days) < completeness
    for i in np.flatnonzero(kept):
        _entry_row(
            rows, rng, cache, patient_id, first + timedelta(days=int(i)), scores[i], flares[i]
        )
    for i in range(ESSPRI_EVERY - 1, days, ESSPRI_EVERY):
        _esspri_row(rows, cache, patient_id, first + timedelta(days=i), scores[i - 13 : i + 1])
    _medicine_rows(rows, rng, cache, patient_id, first, days)


def _entry_row(rows, rng, cache, patient_id, day, scores, flare) -> None:
    payload = {name: int(v) for name, v in zip(SYMPTOM_NAMES, scores, strict=True)}
    payload.update(
        flare=bool(flare),
        factors=_factors(rng, scores, bool(flare)),
        note=NOTES[int(rng.integers(len(NOTES)))] if rng.random() < 0.1 else "",
    )
    entry_id = uuid.uuid4()
    blob = crypto.encrypt_json(
        patient_id=patient_id,
        record_type=ENTRY_RECORD,
        record_id=str(entry_id),
        payload=payload,
        cache=cache,
    )
    stamp = _stamp(day)
    rows.entries.append((entry_id, patient_id, day, blob, stamp, stamp, None))


def _esspri_row(rows, cache, patient_id, day, window: np.ndarray) -> None:
    """ESSPRI items from the fortnight's diary; score = mean of the three items (0-10)."""
    answers = {
        "dryness": int(np.rint(window[:, 0:3].mean())),
        "fatigue": int(np.rint(window[:, 3].mean())),
        "pain": int(np.rint(window[:, 4:6].max(axis=1).mean())),
    }
    response_id = uuid.uuid4()
    # The score is sealed with the answers (diary.services.questionnaire_response_save).
    blob = crypto.encrypt_json(
        patient_id=patient_id,
        record_type=QUESTIONNAIRE_RECORD,
        record_id=str(response_id),
        payload={"answers": answers, "score": sum(answers.values()) / 3},
        cache=cache,
    )
    start = day - timedelta(days=ESSPRI_EVERY - 1)
    rows.questionnaires.append(
        (response_id, patient_id, "esspri", blob, start, day, _stamp(day, 21))
    )


def _medicine_rows(rows, rng, cache, patient_id, first: date, days: int) -> None:
    adherence = float(rng.beta(8, 1.5))
    last = first + timedelta(days=days - 1)
    for name, dose, unit, schedule, share in MEDICINE_MENU:
        if rng.random() >= share:
            continue
        start = first - timedelta(days=int(rng.integers(0, 400)))
        med_id = uuid.uuid4()
        data = {
            "name": name,
            "dose": dose,
            "unit": unit,
            "schedule": schedule,
            "history": [
                {"date": start.isoformat(), "dose": dose, "unit": unit, "schedule": schedule}
            ],
        }
        blob = crypto.encrypt_json(
            patient_id=patient_id,
            record_type=MEDICINE_RECORD,
            record_id=str(med_id),
            payload=data,
            cache=cache,
        )
        stamp = _stamp(start, 9)
        rows.medicines.append((med_id, patient_id, blob, start, None, stamp, stamp))
        _dose_rows(rows, rng, cache, (patient_id, med_id), schedule, start, last, adherence)


def _dose_rows(rows, rng, cache, owner, schedule, start: date, last: date, adherence) -> None:
    """owner: (patient id, medicine id). Each status is sealed like diary.services does."""
    patient_id, med_id = owner
    first_logged = max(start, last - timedelta(days=DOSE_LOG_DAYS - 1))
    counts: dict[date, dict[str, int]] = {}
    for offset in range((last - first_logged).days + 1):
        day = first_logged + timedelta(days=offset)
        for slot in range(1, doses_on(schedule=schedule, start=start, day=day) + 1):
            draw = rng.random()
            if draw > 0.93:
                continue  # not recorded
            status = "taken" if draw < adherence * 0.93 else ("skipped" if draw > 0.9 else "missed")
            dose_id = uuid.uuid4()
            blob = crypto.encrypt_json(
                patient_id=patient_id,
                record_type=DOSE_RECORD,
                record_id=str(dose_id),
                payload={"status": status},
                cache=cache,
            )
            rows.doses.append((dose_id, med_id, day, slot, blob, _stamp(day, 8 + slot)))
            month = counts.setdefault(day.replace(day=1), dict.fromkeys(DoseStatus.values, 0))
            month[status] += 1
    # The sealed monthly tallies, as diary.services keeps them (adherence reads whole months).
    for month, tally in counts.items():
        tally_id = uuid.uuid4()
        blob = crypto.encrypt_json(
            patient_id=patient_id,
            record_type=DOSE_TALLY_RECORD,
            record_id=str(tally_id),
            payload=tally,
            cache=cache,
        )
        rows.tallies.append((tally_id, med_id, month, blob))


# --- Writing --------------------------------------------------------------------------------
TABLES = [
    ("keys", PatientKey, ["patient_id", "key_id", "wrapped_dek", "kek_id", "created_at"]),
    (
        "entries",
        DailyEntry,
        ["id", "patient_id", "date", "payload", "created_at", "updated_at", "amended_at"],
    ),
    (
        "medicines",
        Medicine,
        ["id", "patient_id", "payload", "start_date", "end_date", "created_at", "updated_at"],
    ),
    ("doses", DoseLog, ["id", "medicine_id", "date", "slot", "payload", "recorded_at"]),
    ("tallies", DoseTally, ["id", "medicine_id", "month", "payload"]),
    (
        "questionnaires",
        QuestionnaireResponse,
        [
            "id",
            "patient_id",
            "instrument",
            "payload",
            "period_start",
            "period_end",
            "completed_at",
        ],
    ),
]


def _key_row(key: PatientKey, now: datetime) -> tuple:
    return (key.patient_id, key.key_id, key.wrapped_dek, key.kek_id, now)


def write_rows(rows: Rows) -> None:
    now = timezone.now()
    data = {
        "keys": [_key_row(k, now) for k in rows.keys],
        "entries": rows.entries,
        "medicines": rows.medicines,
        "doses": rows.doses,
        "tallies": rows.tallies,
        "questionnaires": rows.questionnaires,
    }
    with transaction.atomic():
        for attr, model, columns in TABLES:
            if data[attr]:
                _copy(model, columns, data[attr])


def _copy(model, columns: list[str], values: list[tuple]) -> None:
    if connection.vendor != "postgresql":
        objects = [model(**dict(zip(columns, row, strict=True))) for row in values]
        model.objects.bulk_create(objects, batch_size=2000)
        return
    qn = connection.ops.quote_name
    sql = f"COPY {qn(model._meta.db_table)} ({', '.join(qn(c) for c in columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in values:
            copy.write_row(row)


# --- Entry points ---------------------------------------------------------------------------
def _create_users(count: int) -> list[int]:
    start = User.objects.filter(email__startswith="synthetic-").count()
    # Most people with Sjogren's are diagnosed in their forties to sixties.
    birth_years = np.clip(np.rint(np.random.default_rng(start).normal(1968, 12, count)), 1930, 2006)
    users = [
        User(
            email=f"synthetic-{start + i:06d}@example.invalid",
            role=Role.PATIENT,
            birth_year=int(birth_years[i]),
        )
        for i in range(count)
    ]
    for user in users:
        user.set_unusable_password()
    created = User.objects.bulk_create(users, batch_size=1000)
    return [u.pk for u in created]


def generate_patients(*, count: int, days: int, seed: int) -> int:
    """Add `count` synthetic patients, each with `days` of diary ending yesterday."""
    rng = np.random.default_rng(seed)
    # A separate stream, so that adding consents did not change the diaries a seed gives.
    consent_rng = np.random.default_rng([seed, 1])
    patient_ids = _create_users(count)
    if days <= 0:
        return count
    first = timezone.localdate() - timedelta(days=days)
    for start in range(0, len(patient_ids), PATIENTS_PER_BATCH):
        rows = Rows()
        for patient_id in patient_ids[start : start + PATIENTS_PER_BATCH]:
            completeness = float(rng.uniform(0.75, 0.99))
            _patient_rows(rows, rng, patient_id, first, days, completeness)
        write_rows(rows)
        _consent_mix(patient_ids[start : start + PATIENTS_PER_BATCH], consent_rng, first)
    return count


# --- Consent mix (registry exports need a realistic one) -------------------------------------
REGISTRY_SHARE = 0.85  # of patients give registry-sharing consent...
WITHDRAWN_SHARE = 0.06  # ...of whom some withdrew since
LINKAGE_SHARE = 0.2  # of sharing patients also agree to NHS data linkage


def synthetic_nhs_number(rng: np.random.Generator) -> str:
    """A random NHS number with a valid modulus-11 check digit (NHS Data Dictionary)."""
    while True:
        digits = [int(d) for d in rng.integers(0, 10, 9)]
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            return "".join(map(str, digits)) + str(check)


def _consent_mix(patient_ids: list[int], rng: np.random.Generator, first: date) -> None:
    """Consent events written in bulk (append-only rows, as consent's services write them)."""
    from consent.models import ConsentAction, ConsentEvent, ConsentScope, ConsentVia, NhsNumber
    from consent.services import NHS_RECORD_TYPE, current_document

    sharing = current_document(kind=ConsentScope.REGISTRY_SHARING, registry=_first_registry())
    linkage = current_document(kind=ConsentScope.NHS_LINKAGE, registry=None)
    if sharing is None:
        return
    events, numbers = [], []
    cache = crypto.DataKeyCache()
    cache.preload(patient_ids)
    given = _stamp(first, 12)
    for pid in patient_ids:
        if rng.random() >= REGISTRY_SHARE:
            continue
        events.append((pid, sharing, ConsentAction.GIVE, given))
        if rng.random() < WITHDRAWN_SHARE:
            withdrawn = timezone.now() - timedelta(days=int(rng.integers(1, 30)))
            events.append((pid, sharing, ConsentAction.WITHDRAW, max(withdrawn, given)))
        elif linkage is not None and rng.random() < LINKAGE_SHARE:
            events.append((pid, linkage, ConsentAction.GIVE, given))
            row_id = uuid.uuid4()
            blob = crypto.encrypt_json(
                patient_id=pid,
                record_type=NHS_RECORD_TYPE,
                record_id=str(row_id),
                payload={"nhs_number": synthetic_nhs_number(rng)},
                cache=cache,
            )
            numbers.append(NhsNumber(id=row_id, patient_id=pid, ciphertext=blob))
    ConsentEvent.objects.bulk_create(
        ConsentEvent(
            patient_id=pid,
            document=doc,
            scope=doc.kind,
            registry_id=doc.registry_id,
            action=action,
            via=ConsentVia.WEB,
            occurred_at=at,
        )
        for pid, doc, action, at in events
    )
    NhsNumber.objects.bulk_create(numbers)


def _first_registry():
    from consent.models import Registry

    return Registry.objects.order_by("pk").first()


def ensure_demo_diary(*, patient: User, days: int = 120, seed: int = 7) -> bool:
    """Give the demo patient a lived-in diary (once): entries up to yesterday, medicines, ESSPRI."""
    if PatientKey.objects.filter(patient=patient).exists() or days <= 0:
        return False
    rows = Rows()
    first = timezone.localdate() - timedelta(days=days)
    _patient_rows(rows, np.random.default_rng(seed), patient.pk, first, days, completeness=0.95)
    write_rows(rows)
    return True
