"""The sealed monthly dose tallies (issue 16, adherence worst case): adherence reads whole
months from them and the days around them from the dose rows, and must give exactly what
counting every dose row gives, however the doses were answered and re-answered."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import timedelta

import pytest

from accounts.models import User
from demo.synthetic import generate_patients
from diary import crypto, dates, months, selectors, services
from diary.fields import doses_on
from diary.models import DOSE_RECORD, DOSE_TALLY_RECORD, DoseLog, DoseTally
from diary.selectors import patient_today
from tests.diary.test_day_save_races import race
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

STATUSES = ("taken", "missed", "skipped")


def _answer_randomly(patient, rng: random.Random, *, days: int, answers: int) -> list:
    """Medicines of several schedules started `days` ago, and `answers` random answers (many
    of them replacing an earlier answer of the same slot with another status)."""
    today = patient_today(patient)
    start = today - timedelta(days=days)
    schedules = ("once_daily", "twice_daily", "weekly", "once_daily")
    meds = [
        services.medicine_add(
            patient=patient,
            name=f"Medicine {i}",
            dose="5",
            unit="mg",
            schedule=schedule,
            start_date=start + timedelta(days=i * 17),
        )
        for i, schedule in enumerate(schedules)
    ]
    cache = crypto.DataKeyCache()
    done = 0
    while done < answers:
        med = rng.choice(meds)
        day = med.start_date + timedelta(days=rng.randint(0, (today - med.start_date).days))
        due = doses_on(schedule=schedules[meds.index(med)], start=med.start_date, day=day)
        if not due:
            continue
        services.dose_log_set(
            patient=patient,
            medicine_id=med.id,
            day=day,
            slot=rng.randint(1, due),
            status=rng.choice(STATUSES),
            cache=cache,
        )
        done += 1
    return meds


def _tally_contents(patient) -> dict:
    cache = crypto.DataKeyCache()
    found = {}
    for tally in DoseTally.objects.filter(medicine__patient=patient):
        counts = crypto.decrypt_json(
            patient_id=patient.pk,
            record_type=DOSE_TALLY_RECORD,
            record_id=str(tally.id),
            blob=tally.payload,
            cache=cache,
        )
        found[(tally.medicine_id, tally.month)] = Counter({s: n for s, n in counts.items() if n})
    return found


def _recounted(patient) -> dict:
    owners = {m.id: patient.pk for m in selectors.medicines_for(patient=patient)}
    return selectors.dose_month_counts(owners, cache=crypto.DataKeyCache())


def test_tallies_fast_path_equals_counting_every_row(patient_alice, patient_bob, monkeypatch):
    rng = random.Random(1616)
    _answer_randomly(patient_alice, rng, days=200, answers=260)
    _answer_randomly(patient_bob, rng, days=120, answers=40)  # another patient's doses
    # What the write service kept equals a recount of the rows, month by month.
    assert _tally_contents(patient_alice) == _recounted(patient_alice)
    assert _tally_contents(patient_alice)  # there is something to compare
    today = patient_today(patient_alice)
    earliest = today - timedelta(days=215)
    periods = [(earliest, today), (months.month_start(today), today)]
    for _ in range(60):
        first = earliest + timedelta(days=rng.randint(0, 215))
        periods.append((first, first + timedelta(days=rng.randint(0, 120))))
    for first, last in periods:
        fast = selectors.dose_status_counts(patient=patient_alice, date_from=first, date_to=last)
        slow = selectors.dose_status_counts_from_rows(
            patient=patient_alice, date_from=first, date_to=last
        )
        assert fast == slow, (first, last)
    # Adherence through the fast path and through the row-by-row counts: the same rows.
    fast_rows = [
        selectors.adherence(patient=patient_alice, date_from=a, date_to=b) for a, b in periods
    ]
    monkeypatch.setattr(
        selectors,
        "dose_status_counts",
        lambda *, patient, date_from, date_to, **_: selectors.dose_status_counts_from_rows(
            patient=patient, date_from=date_from, date_to=date_to
        ),
    )
    slow_rows = [
        selectors.adherence(patient=patient_alice, date_from=a, date_to=b) for a, b in periods
    ]
    assert fast_rows == slow_rows
    assert any(row.taken for rows in fast_rows for row in rows)


def test_adherence_api_counts_whole_months_and_the_days_around_them(alice_api, patient_alice):
    today = patient_today(patient_alice)
    first = months.month_start(months.month_start(today) - timedelta(days=70)) + timedelta(days=9)
    med = services.medicine_add(
        patient=patient_alice,
        name="Pilocarpine",
        dose="5",
        unit="mg",
        schedule="once_daily",
        start_date=first,
    )
    statuses = Counter()
    for back in range((today - first).days + 1):
        status = STATUSES[back % 3]
        services.dose_log_set(
            patient=patient_alice,
            medicine_id=med.id,
            day=first + timedelta(days=back),
            status=status,
        )
        statuses[status] += 1
    whole, rest = months.split_whole_months(first, today)
    assert whole is not None and rest  # a partial month before the whole ones
    response = alice_api.get(f"/api/v1/medicines/adherence/?from={first.isoformat()}")
    assert response.status_code == 200
    row = response.json()[0]
    assert (row["taken"], row["missed"], row["skipped"]) == tuple(statuses[s] for s in STATUSES)
    assert row["expected"] == (today - first).days + 1 and row["unrecorded"] == 0


def test_a_replaced_answer_moves_between_statuses_and_counts_once(patient_alice):
    today = patient_today(patient_alice)
    med = services.medicine_add(
        patient=patient_alice, name="Hydroxychloroquine", dose="200", unit="mg",
        schedule="once_daily", start_date=today - timedelta(days=3),
    )  # fmt: skip
    for status in ("taken", "missed", "missed", "skipped"):
        services.dose_log_set(patient=patient_alice, medicine_id=med.id, day=today, status=status)
    assert _tally_contents(patient_alice) == {
        (med.id, months.month_start(today)): Counter(skipped=1)
    }
    assert DoseTally.objects.count() == 1


def test_rebuild_gives_what_the_service_kept(patient_alice):
    meds = _answer_randomly(patient_alice, random.Random(7), days=90, answers=80)
    kept = _tally_contents(patient_alice)
    old_ids = set(DoseTally.objects.values_list("id", flat=True))
    written = services.dose_tallies_rebuild(medicine_ids=[m.id for m in meds])
    assert written == len(kept)
    assert _tally_contents(patient_alice) == kept
    assert not old_ids & set(DoseTally.objects.values_list("id", flat=True))  # resealed anew


def test_a_tally_is_sealed_and_bound_to_its_row_and_patient(patient_alice, patient_bob):
    today = patient_today(patient_alice)
    med = services.medicine_add(
        patient=patient_alice, name="Pilocarpine", dose="5", unit="mg",
        schedule="once_daily", start_date=today - timedelta(days=3),
    )  # fmt: skip
    services.dose_log_set(patient=patient_alice, medicine_id=med.id, day=today, status="taken")
    tally = DoseTally.objects.get()
    blob = bytes(tally.payload)
    assert b"taken" not in blob and b'"missed"' not in blob
    assert crypto.decrypt_json(
        patient_id=patient_alice.pk,
        record_type=DOSE_TALLY_RECORD,
        record_id=str(tally.id),
        blob=blob,
    ) == {"taken": 1, "missed": 0, "skipped": 0}
    for patient_id, record_id in ((patient_bob.pk, tally.id), (patient_alice.pk, med.id)):
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt_json(
                patient_id=patient_id,
                record_type=DOSE_TALLY_RECORD,
                record_id=str(record_id),
                blob=blob,
            )
    # Bob's adherence neither sees Alice's medicine nor her counts.
    assert selectors.adherence(patient=patient_bob, date_from=today, date_to=today) == []


def test_tallies_go_with_the_medicine_and_with_erasure(patient_alice):
    today = patient_today(patient_alice)
    meds = [
        services.medicine_add(
            patient=patient_alice,
            name=f"M{i}",
            dose="5",
            unit="mg",
            schedule="once_daily",
            start_date=today - timedelta(days=3),
        )  # fmt: skip
        for i in range(2)
    ]
    for med in meds:
        services.dose_log_set(patient=patient_alice, medicine_id=med.id, day=today, status="taken")
    services.medicine_delete(patient=patient_alice, medicine_id=meds[0].id)
    assert list(DoseTally.objects.values_list("medicine_id", flat=True)) == [meds[1].id]
    services.patient_erase(patient=patient_alice)
    assert not DoseTally.objects.exists() and not DoseLog.objects.exists()


def test_a_refused_answer_changes_no_tally(patient_alice):
    today = patient_today(patient_alice)
    med = services.medicine_add(
        patient=patient_alice, name="Pilocarpine", dose="5", unit="mg",
        schedule="once_daily", start_date=today - timedelta(days=3),
    )  # fmt: skip
    services.dose_log_set(patient=patient_alice, medicine_id=med.id, day=today, status="taken")
    before = _tally_contents(patient_alice)
    with pytest.raises(services.ValidationError):
        services.dose_log_set(patient=patient_alice, medicine_id=med.id, day=today, status="maybe")
    with pytest.raises(services.ValidationError):
        services.dose_log_set(
            patient=patient_alice, medicine_id=med.id, day=today, status="taken", slot=2
        )
    assert _tally_contents(patient_alice) == before


@pytest.mark.django_db(transaction=True)
def test_answers_at_once_keep_the_tally_exact():
    """Threads answering days of one month at once (the first ones race to create the month's
    tally, later ones re-answer the same slots): the tally ends equal to a recount of the rows."""
    patient = PatientFactory()
    month = months.month_start(months.month_start(patient_today(patient)) - timedelta(days=1))
    med = services.medicine_add(
        patient=patient, name="Pilocarpine", dose="5", unit="mg",
        schedule="twice_daily", start_date=month,
    )  # fmt: skip

    def answer(day_offset, slot, status):
        return lambda: services.dose_log_set(
            patient=patient,
            medicine_id=med.id,
            day=month + timedelta(days=day_offset),
            slot=slot,
            status=status,
        )

    for round_, status in enumerate(("taken", "missed", "skipped")):
        results = race(
            [answer(day, 1 + (day + round_) % 2, status) for day in range(4)]
            + [answer(0, 1, STATUSES[(round_ + 1) % 3])]  # the same slot as another thread
        )
        assert not [r for r in results if isinstance(r, Exception)], results
    assert _tally_contents(patient) == _recounted(patient)
    assert DoseTally.objects.filter(medicine_id=med.id).count() == 1


def test_synthetic_patients_get_their_tallies_with_their_doses():
    generate_patients(count=3, days=90, seed=16)
    patients = list(User.objects.filter(email__startswith="synthetic-"))
    assert DoseTally.objects.filter(medicine__patient__in=patients).exists()
    counted = 0
    for patient in patients:
        assert _tally_contents(patient) == _recounted(patient)
        today = patient_today(patient)
        first = today - timedelta(days=89)
        fast = selectors.dose_status_counts(patient=patient, date_from=first, date_to=today)
        slow = selectors.dose_status_counts_from_rows(
            patient=patient, date_from=first, date_to=today
        )
        assert fast == slow
        counted += sum(fast.values())
    assert counted


def test_the_longest_period_decrypts_tallies_not_every_dose(patient_alice, monkeypatch):
    """Ten years of two daily medicines (7,320 doses, written directly and the tallies rebuilt,
    as bench_adherence does): the longest request opens one blob per medicine and month plus
    at most two partial months of doses, a small multiple of what a 30-day request opens."""
    today = patient_today(patient_alice)
    first = today - timedelta(days=dates.MAX_PERIOD_DAYS - 1)
    meds = [
        services.medicine_add(
            patient=patient_alice,
            name=f"M{i}",
            dose="5",
            unit="mg",
            schedule="once_daily",
            start_date=first,
        )  # fmt: skip
        for i in range(2)
    ]
    cache = crypto.DataKeyCache()
    logs = []
    for med in meds:
        for back in range(dates.MAX_PERIOD_DAYS):
            dose_id = uuid.uuid4()
            blob = crypto.encrypt_json(
                patient_id=patient_alice.pk, record_type=DOSE_RECORD, record_id=str(dose_id),
                payload={"status": STATUSES[back % 3]}, cache=cache,
            )  # fmt: skip
            logs.append(
                DoseLog(
                    id=dose_id, medicine_id=med.id, date=first + timedelta(days=back), payload=blob
                )
            )
    DoseLog.objects.bulk_create(logs, batch_size=5000)
    services.dose_tallies_rebuild(medicine_ids=[m.id for m in meds])
    opened = Counter()
    real = crypto.decrypt_bytes_many

    def counting(*, record_type, rows, cache):
        rows = list(rows)
        opened[record_type] += len(rows)
        return real(record_type=record_type, rows=rows, cache=cache)

    monkeypatch.setattr(crypto, "decrypt_bytes_many", counting)
    longest = selectors.adherence(patient=patient_alice, date_from=first, date_to=today)
    worst = sum(opened.values()) - opened["diary.medicine"]
    opened.clear()
    selectors.adherence(patient=patient_alice, date_from=today - timedelta(days=29), date_to=today)
    normal = sum(opened.values()) - opened["diary.medicine"]
    assert [(r.taken, r.missed, r.skipped) for r in longest] == [(1220, 1220, 1220)] * 2
    assert worst <= 2 * (dates.MAX_PERIOD_DAYS // 28 + 62)  # was 7,320 (every dose)
    assert 0 < normal <= 2 * 31 and worst <= 8 * normal
