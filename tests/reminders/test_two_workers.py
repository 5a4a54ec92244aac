"""Two real Celery workers run the same beat tick at once: nobody gets a reminder twice.

Both workers (`celery -A config worker`, as tests/registry_export/test_worker_killed.py starts
them) run against this test's database (a transactional test, so its rows are committed and
visible to them) and this area's Redis broker, and mail over SMTP to an aiosmtpd server in this
process. The tick task is queued four times (two ticks, each delivered to both workers); small
batches make the workers' passes over the patients interleave.
"""

from __future__ import annotations

import ast
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import time as clock
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import Role, User
from reminders import tasks
from reminders.models import ReminderSend, ReminderSettings, SendStatus
from tests.reminders.conftest import start_smtp_sink

ROOT = Path(__file__).resolve().parents[2]
PATIENTS = 120
SMTP_PORT = 8152
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not settings.CELERY_BROKER_URL.startswith("redis://") or connection.vendor != "postgresql",
        reason="needs PostgreSQL and a Redis broker (make test)",
    ),
]


def start_worker(name: str, env: dict, log: Path) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
        "--concurrency=1", "--loglevel=INFO", "-n", f"{name}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    with log.open("wb") as out:
        return subprocess.Popen(
            cmd, cwd=ROOT, env=env, start_new_session=True, stdout=out, stderr=subprocess.STDOUT
        )


def tick_stats(log: Path) -> list[dict]:
    """The stats each finished tick returned (Celery logs them at INFO)."""
    found = re.findall(
        r"reminders_dispatch\[[^\]]+\] succeeded in [^:]+: (\{.*\})", log.read_text()
    )
    return [ast.literal_eval(text) for text in found]


def stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)


def _url_of(db: dict) -> str:
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def seed(count: int) -> list[User]:
    now = timezone.now()
    users = User.objects.bulk_create(
        User(
            email=f"worker-{i}@example.org",
            role=Role.PATIENT,
            time_zone="UTC",
            password="!",
            date_joined=now,
        )  # fmt: skip
        for i in range(count)
    )
    # Due all day (00:00, every day, no quiet hours), so the test never waits for a clock.
    ReminderSettings.objects.bulk_create(
        ReminderSettings(patient=u, enabled=True, remind_at=clock(0, 0), email=True) for u in users
    )
    return users


@pytest.mark.django_db(transaction=True)
def test_two_workers_running_the_same_tick_never_send_twice(tmp_path):
    import redis

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.flushdb()  # this area's own broker db
    users = seed(PATIENTS)
    controller, sink = start_smtp_sink(SMTP_PORT)
    env = {
        **os.environ,
        "DATABASE_URL": _url_of(connection.settings_dict),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(SMTP_PORT),
        "EMAIL_USE_TLS": "false",
        "REMINDERS_BATCH_SIZE": "4",
    }
    for _ in range(4):
        tasks.reminders_dispatch.delay()
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    workers = [start_worker("first", env, logs[0]), start_worker("second", env, logs[1])]
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            done = ReminderSend.objects.filter(status=SendStatus.SENT).count()
            finished = sum(len(tick_stats(log)) for log in logs)
            if done >= 2 * PATIENTS and finished == 4:
                break
            time.sleep(0.2)
        time.sleep(3)  # any duplicate still on its way would arrive now
    finally:
        for worker in workers:
            stop(worker)
        controller.stop()

    received = Counter(m["To"] for m in sink.messages)
    assert len(received) == PATIENTS, f"{len(received)} of {PATIENTS} patients got mail"
    assert set(received.values()) == {1}, received.most_common(3)
    # Each patient: today's diary and the questionnaires due since sign-up, claimed once each
    # and delivered together in one message.
    sends = ReminderSend.objects.all()
    assert sends.count() == 2 * PATIENTS
    assert set(sends.values_list("status", flat=True)) == {SendStatus.SENT}
    assert {u.pk for u in users} == set(sends.values_list("patient_id", flat=True))
    # Every tick saw every patient due; the claims, not luck in timing, kept it to one send.
    ticks = [tick_stats(log) for log in logs]
    every = [t for worker in ticks for t in worker]
    assert len(every) == 4 and all(t["due"] == PATIENTS for t in every)
    assert sum(t["claimed"] for t in every) == 2 * PATIENTS
    print("claims per worker:", [[t["claimed"] for t in worker] for worker in ticks])
