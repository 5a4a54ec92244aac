"""P1: server time of a five-year trend (1,826 daily entries) with encryption, against the same
computation over clear rows, measured in the same run. Target (issue 3): at most 1.5x.

Encrypted: the app's own path, diary.selectors.entries_between (one indexed query, then one
AES-GCM blob decrypted and parsed per entry), then the trends pipeline: pandas daily frame with
7-day rolling means, weekly means, the text summary, the plotly figure and its JSON.
Clear baseline: the same payloads stored as plain JSON text in a scratch table with the same
columns and index, read through the ORM the same way and parsed with json.loads, then the very
same pipeline. Both read from the database on every repetition.

Runs in its own scratch database (Django's test-database machinery: created, migrated, dropped),
so it never touches the configured database's data. Env: DATABASE_URL etc. as for the tests;
BENCH_REPEAT (default 15).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.db import connection, models  # noqa: E402

from diary import crypto  # noqa: E402
from diary.fields import SYMPTOM_NAMES  # noqa: E402
from diary.models import ENTRY_RECORD, DailyEntry  # noqa: E402
from diary.records import EntryView  # noqa: E402
from diary.selectors import entries_between  # noqa: E402
from diary.trends.figures import figure_data, symptom_figure  # noqa: E402
from diary.trends.frames import ROLLING_DAYS, daily_frame, weekly_means_from_frame  # noqa: E402
from diary.trends.summary import summarise  # noqa: E402

DAYS = 1826  # five years, one leap day
REPEAT = int(os.environ.get("BENCH_REPEAT", "15"))
TARGET = 1.5


class ClearEntry(models.Model):
    """The baseline's table: DailyEntry's columns with the payload as clear JSON text."""

    id = models.UUIDField(primary_key=True)
    patient_id = models.IntegerField()
    date = models.DateField()
    payload = models.TextField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    amended_at = models.DateTimeField(null=True)

    class Meta:
        app_label = "diary"
        db_table = "bench_clear_entry"
        managed = False
        indexes = [models.Index(fields=["patient_id", "date"], name="bench_clear_patient_date")]

    def __str__(self) -> str:
        return f"clear entry {self.id}"


def seed(patient_id: int, first) -> None:
    """DAYS encrypted entries and the same payloads in clear, bulk inserted."""
    from demo.synthetic import symptom_series

    rng = np.random.default_rng(7)
    scores, flares = symptom_series(rng, DAYS)
    cache = crypto.DataKeyCache()
    stamp = datetime.now(UTC)
    sealed, clear = [], []
    for i in range(DAYS):
        day = first + timedelta(days=i)
        payload = {name: int(v) for name, v in zip(SYMPTOM_NAMES, scores[i], strict=True)}
        payload.update(flare=bool(flares[i]), factors=["screen_work"], note="")
        entry_id = uuid.uuid4()
        blob = crypto.encrypt_json(
            patient_id=patient_id,
            record_type=ENTRY_RECORD,
            record_id=str(entry_id),
            payload=payload,
            cache=cache,
        )
        common = {"id": entry_id, "date": day, "created_at": stamp, "updated_at": stamp}
        sealed.append(DailyEntry(patient_id=patient_id, payload=blob, **common))
        clear.append(ClearEntry(patient_id=patient_id, payload=json.dumps(payload), **common))
    DailyEntry.objects.bulk_create(sealed, batch_size=1000)
    ClearEntry.objects.bulk_create(clear, batch_size=1000)


def clear_entries(*, patient, date_from, date_to) -> list[EntryView]:
    """entries_between's twin over the clear table: same query shape, json.loads per row."""
    rows = (
        ClearEntry.objects.filter(patient_id=patient.pk, date__gte=date_from, date__lte=date_to)
        .order_by("date")
        .values_list("id", "patient_id", "date", "payload", "created_at", "updated_at",
                     "amended_at")
    )  # fmt: skip
    views = []
    for entry_id, patient_id, day, text, created, updated, amended in rows:
        data = json.loads(text)
        views.append(
            EntryView(
                id=entry_id, patient_id=patient_id, date=day,
                **{name: data[name] for name in SYMPTOM_NAMES},
                flare=data["flare"], factors=tuple(data["factors"]), note=data["note"],
                created_at=created, updated_at=updated, amended_at=amended,
            )
        )  # fmt: skip
    return views


def trend(reader, patient, date_from, date_to) -> dict:
    """What the trends page computes for a range (reader = where the entries come from)."""
    entries = reader(
        patient=patient, date_from=date_from - timedelta(days=ROLLING_DAYS - 1), date_to=date_to
    )
    frame = daily_frame(entries, date_from=date_from, date_to=date_to)
    summarise(frame, date_from=date_from, date_to=date_to)
    weekly_means_from_frame(frame)
    figure = figure_data(symptom_figure(frame, date_from=date_from, date_to=date_to))
    assert frame["recorded"].sum() == DAYS
    return figure


def timed(reader, patient, date_from, date_to) -> float:
    start = time.perf_counter()
    trend(reader, patient, date_from, date_to)
    return time.perf_counter() - start


def read_only(reader, patient, date_from, date_to) -> float:
    start = time.perf_counter()
    reader(patient=patient, date_from=date_from, date_to=date_to)
    return time.perf_counter() - start


def measure(patient, date_from, date_to) -> tuple[list[float], list[float]]:
    for reader in (entries_between, clear_entries):  # warm-up: imports, plotly validators
        trend(reader, patient, date_from, date_to)
    encrypted, clear = [], []
    for i in range(REPEAT):
        # Alternate the order so that neither side always runs on a warmer cache.
        pair = [(entries_between, encrypted), (clear_entries, clear)]
        for reader, out in pair if i % 2 == 0 else reversed(pair):
            out.append(timed(reader, patient, date_from, date_to))
    return encrypted, clear


def main() -> int:
    from accounts.models import User

    settings_dict = connection.settings_dict
    settings_dict.setdefault("TEST", {})["NAME"] = f"bench_trends_{os.getpid()}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        with connection.schema_editor() as editor:
            editor.create_model(ClearEntry)
        patient = User.objects.create_user("bench-trends@example.org", role="patient")
        date_to = datetime.now(UTC).date()
        date_from = date_to - timedelta(days=DAYS - 1)
        seed(patient.pk, date_from)
        encrypted, clear = measure(patient, date_from, date_to)
        reads = {
            reader: statistics.median(
                read_only(reader, patient, date_from, date_to) for _ in range(REPEAT)
            )
            for reader in (entries_between, clear_entries)
        }
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    enc, base = statistics.median(encrypted), statistics.median(clear)
    ratio = enc / base
    print(f"P1 five-year trend, {DAYS} entries, {REPEAT} runs each (median):")
    print(f"  encrypted (decrypt + pandas + figure): {enc * 1000:8.1f} ms")
    print(f"  clear rows (json + pandas + figure):   {base * 1000:8.1f} ms")
    print(
        f"  of which the read alone: encrypted {reads[entries_between] * 1000:.1f} ms, "
        f"clear {reads[clear_entries] * 1000:.1f} ms"
    )
    print(f"  ratio: {ratio:.2f}x (target <= {TARGET}x) {'ok' if ratio <= TARGET else 'MISSED'}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
