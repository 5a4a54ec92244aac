"""P3: diary API writes under gunicorn with 50 simulated users (issue 16).

gunicorn (./gunicorn.conf.py, sync workers) serves the app against a scratch PostgreSQL
database and the configured Redis. Fifty patients, each with an API token, write their diary
as fast as they can for BENCH_LOAD_SECONDS: each user is a thread that PUTs a day's entry
(`PUT /api/v1/entries/<day>/`, new values each time, cycling over 300 past days), waits for the
answer and sends the next. The baseline is the same fifty users against a bare JSON view in
the same run and the same server (`/bench/ping`, bench/load_urls.py: gunicorn, middleware,
JSON, but no token, database or encryption).

Targets: writes reach >= 60% of the baseline's requests per second; no request fails (any
answer other than 2xx, or no answer, is an error); and every acknowledged write (2xx) is in
the database afterwards: for each patient and day, the stored entry holds the values of the
last write the server acknowledged.

Env: DATABASE_URL, REDIS_URL, CELERY_BROKER_URL, LOCAL_KEY_FILE as for the tests;
BENCH_LOAD_USERS (50), BENCH_LOAD_SECONDS (10), BENCH_LOAD_PORT (8160).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.db import connection  # noqa: E402

USERS = int(os.environ.get("BENCH_LOAD_USERS", "50"))
SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "10"))
PORT = int(os.environ.get("BENCH_LOAD_PORT", "8160"))
RATIO_TARGET = 0.60
DAYS = 300
SCORES = ("dryness_eyes", "dryness_mouth", "dryness_skin", "fatigue", "muscle_pain", "joint_pain")


@dataclass
class Tally:
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    # (patient id, day) -> values of the last acknowledged write
    acknowledged: dict[tuple[int, date], dict] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors[what] = self.errors.get(what, 0) + 1


def seed() -> list[tuple[int, str]]:
    """USERS patients, each with an API token: [(patient id, raw token)]."""
    from accounts.models import User
    from accounts.services import api_token_issue

    people = []
    for i in range(USERS):
        patient = User.objects.create_user(f"load-{i}@example.org", password=None, role="patient")
        _, raw = api_token_issue(user=patient, otp_verified=False)
        people.append((patient.pk, raw))
    return people


def start_server(db_name: str) -> tuple[subprocess.Popen, str]:
    url = connection.settings_dict
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgres://{url['USER']}:{url['PASSWORD'] or ''}@{url['HOST'] or '127.0.0.1'}:"
        f"{url['PORT'] or 5432}/{db_name}"
    )
    env["DJANGO_SETTINGS_MODULE"] = "bench.load_settings"
    env["GUNICORN_BIND"] = f"127.0.0.1:{PORT}"
    env["GUNICORN_ACCESSLOG"] = ""  # no access log line per request on the console
    # The per-user rate limit (600/min) is not what is measured here: fifty users on a fast
    # machine could pass it. The throttle still runs (and costs what it costs) on every write.
    env["API_THROTTLE_USER"] = "1000000/min"
    # gunicorn reads ./gunicorn.conf.py (workers, timeouts) from the repository root.
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--log-level", "warning"],
        cwd=REPO,
        env=env,
    )
    base = f"http://127.0.0.1:{PORT}"
    for _ in range(150):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)  # noqa: S310 - our own server
            return server, base
        except OSError:
            if server.poll() is not None:
                message = f"gunicorn exited ({server.returncode}): is port {PORT} free?"
                raise RuntimeError(message) from None
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("the bench server did not start")


def entry_values(user: int, n: int) -> dict:
    values = {name: (user + n + i) % 11 for i, name in enumerate(SCORES)}
    return {**values, "flare": n % 2 == 0, "factors": [], "note": f"load {user}-{n}"}


def write_loop(base: str, patient_id: int, token: str, index: int, until: float, tally: Tally):
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    today = date.today()
    n = 0
    while time.perf_counter() < until:
        day = today - timedelta(days=1 + (index * 7 + n) % DAYS)
        values = entry_values(index, n)
        n += 1
        try:
            response = session.put(f"{base}/api/v1/entries/{day.isoformat()}/", json=values)
        except requests.RequestException as exc:
            tally.error(type(exc).__name__)
            continue
        if 200 <= response.status_code < 300:
            with tally.lock:
                tally.ok += 1
                tally.acknowledged[(patient_id, day)] = values
        else:
            tally.error(str(response.status_code))


def ping_loop(base: str, patient_id: int, token: str, index: int, until: float, tally: Tally):
    session = requests.Session()
    while time.perf_counter() < until:
        try:
            response = session.get(f"{base}/bench/ping")
        except requests.RequestException as exc:
            tally.error(type(exc).__name__)
            continue
        if response.status_code == 200:
            with tally.lock:
                tally.ok += 1
        else:
            tally.error(str(response.status_code))


def drive(loop, base: str, people: list[tuple[int, str]], seconds: float) -> tuple[Tally, float]:
    tally = Tally()
    start = time.perf_counter()
    until = start + seconds
    with ThreadPoolExecutor(max_workers=len(people)) as pool:
        for index, (patient_id, token) in enumerate(people):
            pool.submit(loop, base, patient_id, token, index, until, tally)
    return tally, time.perf_counter() - start


def verify(tally: Tally) -> int:
    """Acknowledged writes missing from the database or holding other values."""
    from accounts.models import User
    from diary.selectors import entry_on

    patients = {p.pk: p for p in User.objects.filter(pk__in={k[0] for k in tally.acknowledged})}
    missing = 0
    for (patient_id, day), sent in tally.acknowledged.items():
        entry = entry_on(patient=patients[patient_id], day=day)
        stored = entry.values() if entry is not None else None
        if stored is None or any(stored.get(k) != v for k, v in sent.items()):
            missing += 1
    return missing


def report(name: str, tally: Tally, elapsed: float) -> float:
    rps = tally.ok / elapsed
    errors = sum(tally.errors.values())
    detail = f" {tally.errors}" if errors else ""
    print(f"  {name:34} {tally.ok:7d} ok in {elapsed:5.1f} s = {rps:8.1f} req/s, "
          f"{errors} errors{detail}")  # fmt: skip
    return rps


def measure(base: str, people: list[tuple[int, str]]) -> int:
    drive(ping_loop, base, people, 1.0)  # warm up: every worker loaded and connected
    drive(write_loop, base, people, 1.0)
    print(f"{len(people)} users, {SECONDS:.0f} s each, gunicorn (gunicorn.conf.py) on port {PORT}:")
    ping, ping_s = drive(ping_loop, base, people, SECONDS)
    writes, writes_s = drive(write_loop, base, people, SECONDS)
    ping_rps = report("baseline GET /bench/ping", ping, ping_s)
    write_rps = report("PUT /api/v1/entries/<day>/", writes, writes_s)
    connection.close()  # read what the server wrote, on a fresh connection
    missing = verify(writes)
    ratio = write_rps / ping_rps if ping_rps else 0.0
    errors = sum(writes.errors.values()) + sum(ping.errors.values())
    failures = 0
    for ok, line in (
        (ratio >= RATIO_TARGET, f"ratio writes/baseline: {ratio:.2f} (target >= {RATIO_TARGET})"),
        (errors == 0, f"errors: {errors} (target 0)"),
        (
            missing == 0,
            f"acknowledged (patient, day) writes checked in the database: "
            f"{len(writes.acknowledged)}, missing or different: {missing} (target 0)",
        ),
    ):
        failures += not ok
        print(f"  {line} {'ok' if ok else 'MISSED'}")
    return failures


def main() -> int:
    settings_dict = connection.settings_dict
    db_name = f"bench_load_{os.getpid()}"
    settings_dict.setdefault("TEST", {})["NAME"] = db_name
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    server = None
    try:
        people = seed()
        connection.close()  # the server's processes use the database from here
        server, base = start_server(db_name)
        failures = measure(base, people)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
