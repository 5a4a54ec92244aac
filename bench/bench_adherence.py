"""Adherence over the longest period a patient may ask for, against the trend of the same period
and against a normal (30-day) adherence request, measured in the same run (issue 16).

Before the fix, `GET /api/v1/medicines/adherence/?from=0001-01-01` with 20 medicines starting in
year 1 walked every day of two thousand years per medicine (about 9 s) and six such requests held
every web worker. Now a period starts inside the patient's date window and spans at most
diary.dates.MAX_PERIOD_DAYS, doses due are counted arithmetically and doses taken by one grouped
query. Since the dose statuses are sealed (issue 16, every health value encrypted), the doses
taken are counted after one batched decryption instead, and (issue 16, adh) the whole months
of a period are read from the sealed monthly tallies (one blob per medicine and month), only
the days around them from the dose rows. Targets: adherence(longest) <= 1.5 x
trend(longest), and <= 10 x adherence(30 days).

Both run through the full stack (Django's test client, session auth, middleware, DRF), against
a patient with 20 medicines (started at the window's first day), a dose answered for every
medicine on every day of the period and a diary entry every day. Own scratch database (created,
migrated, dropped). Env: DATABASE_URL etc. as for the tests; BENCH_REPEAT (default 9).
"""

from __future__ import annotations

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
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from diary import crypto, dates, services  # noqa: E402
from diary.fields import SYMPTOM_NAMES  # noqa: E402
from diary.models import DOSE_RECORD, ENTRY_RECORD, DailyEntry, DoseLog  # noqa: E402
from diary.selectors import patient_today  # noqa: E402

MEDICINES = 20
REPEAT = int(os.environ.get("BENCH_REPEAT", "9"))
TARGET_VS_TREND = 1.5
TARGET_VS_NORMAL = 10.0


def seed(patient, date_from, date_to) -> None:
    days = (date_to - date_from).days + 1
    medicines = [
        services.medicine_add(
            patient=patient,
            name=f"Medicine {i}",
            dose="5",
            unit="mg",
            schedule="once_daily",
            start_date=dates.window_for(patient).first,
        )
        for i in range(MEDICINES)
    ]
    stamp = datetime.now(UTC)
    statuses = ("taken", "taken", "taken", "missed", "skipped")
    cache = crypto.DataKeyCache()
    logs = []
    for m in medicines:
        for d in range(days):
            dose_id = uuid.uuid4()
            # Sealed as diary.services does ({"status": ...}, record type diary.dose).
            blob = crypto.encrypt_json(
                patient_id=patient.pk,
                record_type=DOSE_RECORD,
                record_id=str(dose_id),
                payload={"status": statuses[d % 5]},
                cache=cache,
            )
            logs.append(
                DoseLog(
                    id=dose_id,
                    medicine_id=m.id,
                    date=date_from + timedelta(days=d),
                    slot=1,
                    payload=blob,
                    recorded_at=stamp,
                )
            )
    DoseLog.objects.bulk_create(logs, batch_size=5000)
    # Written directly, so their sealed monthly tallies are rebuilt (as migration 0004 does).
    services.dose_tallies_rebuild(medicine_ids=[m.id for m in medicines])
    rng = np.random.default_rng(7)
    entries = []
    for d in range(days):
        entry_id = uuid.uuid4()
        payload = {name: int(rng.integers(0, 11)) for name in SYMPTOM_NAMES}
        payload.update(flare=False, factors=[], note="")
        entries.append(
            DailyEntry(
                id=entry_id,
                patient=patient,
                date=date_from + timedelta(days=d),
                created_at=stamp,
                updated_at=stamp,
                payload=crypto.encrypt_json(
                    patient_id=patient.pk,
                    record_type=ENTRY_RECORD,
                    record_id=str(entry_id),
                    payload=payload,
                    cache=cache,
                ),
            )
        )
    DailyEntry.objects.bulk_create(entries, batch_size=1000)


def timed(client: Client, url: str) -> float:
    start = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return elapsed


def measure(client: Client, urls: dict[str, str]) -> dict[str, float]:
    for url in urls.values():  # warm-up
        timed(client, url)
    runs: dict[str, list[float]] = {name: [] for name in urls}
    for i in range(REPEAT):
        order = list(urls.items())
        for name, url in order if i % 2 == 0 else reversed(order):
            runs[name].append(timed(client, url))
    return {name: statistics.median(values) for name, values in runs.items()}


def main() -> int:
    from accounts.models import User

    setup_test_environment()
    settings_dict = connection.settings_dict
    settings_dict.setdefault("TEST", {})["NAME"] = f"bench_adherence_{os.getpid()}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        patient = User.objects.create_user("bench-adherence@example.org", role="patient")
        date_to = patient_today(patient)
        date_from = date_to - timedelta(days=dates.MAX_PERIOD_DAYS - 1)
        seed(patient, date_from, date_to)
        client = Client()
        client.force_login(patient)
        period = f"?from={date_from.isoformat()}&to={date_to.isoformat()}"
        medians = measure(
            client,
            {
                "adherence_longest": f"/api/v1/medicines/adherence/{period}",
                "trend_longest": f"/api/v1/trends/{period}",
                "adherence_30_days": "/api/v1/medicines/adherence/",
            },
        )
        refused = client.get("/api/v1/medicines/adherence/?from=0001-01-01").status_code
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    vs_trend = medians["adherence_longest"] / medians["trend_longest"]
    vs_normal = medians["adherence_longest"] / medians["adherence_30_days"]
    days = dates.MAX_PERIOD_DAYS
    print(f"Adherence, {MEDICINES} medicines, {days} days of doses and entries, {REPEAT} runs:")
    for name, value in medians.items():
        print(f"  {name:<20} {value * 1000:8.1f} ms")
    print(f"  ?from=0001-01-01 answers {refused} (a period must start in the window)")
    ok_trend, ok_normal = vs_trend <= TARGET_VS_TREND, vs_normal <= TARGET_VS_NORMAL
    print(
        f"  adherence/trend, same {days} days: {vs_trend:.2f}x "
        f"(target <= {TARGET_VS_TREND}x) {'ok' if ok_trend else 'MISSED'}"
    )
    print(
        f"  longest/30-day adherence: {vs_normal:.2f}x "
        f"(target <= {TARGET_VS_NORMAL}x) {'ok' if ok_normal else 'MISSED'}"
    )
    return 0 if ok_trend and ok_normal and refused == 400 else 1


if __name__ == "__main__":
    raise SystemExit(main())
