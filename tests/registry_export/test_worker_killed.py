"""A real Celery worker on Redis is SIGKILLed in the middle of a run; another worker finishes it.

The worker runs `celery -A config worker` in a subprocess against this test's database (a
transactional test, so the rows are committed and visible to it) and this test's broker. Its
recovery is the production one: the run and its partitions are rows with row locks, which
PostgreSQL releases when the killed worker's connection drops; the beat task
export_runs_resume (sent here as beat would) re-dispatches the partitions still pending, and the
second worker takes them over. The files must be exactly those of an undisturbed run.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction

from demo.synthetic import generate_patients
from registry_export import services, storage, tasks
from registry_export.models import ExportRun, RunStatus

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("redis://") or connection.vendor != "postgresql",
    reason="needs PostgreSQL and a Redis broker (make test)",
)


class Undo(Exception):
    pass


def expected_files(run) -> dict[str, bytes]:
    """The files of the run done cleanly in this process, then undone (row back to pending)."""
    try:
        with transaction.atomic():
            done = services.export_run_foreground(run=run)
            folder = storage.run_dir(done)
            files = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
            raise Undo
    except Undo:
        pass
    storage.remove_run_files(run, keep_final=False)
    return files


def start_worker(name: str, env: dict) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
        "--concurrency=1", "--loglevel=WARNING", "-n", f"{name}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    # A session of its own, so that the whole worker can be killed as one group.
    return subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)


def stop(worker: subprocess.Popen, sig=signal.SIGKILL) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, sig)
    worker.wait(timeout=30)


def wait_for(check, *, timeout: float, every: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {check.__doc__}")


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_run_loses_nothing_and_duplicates_nothing(export_root, registry):
    import redis

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()  # this test's own broker db
    generate_patients(count=48, days=150, seed=5)  # most give registry-sharing consent
    destination = services.destination_create(
        name="Kill test", formats=["fhir", "redcap"], consent_scope="registry_sharing",
        registry=registry, partition_size=2,
    )  # fmt: skip
    run, _ = services.export_run_request(destination=destination, trigger="command", dispatch=False)
    expected = expected_files(run)
    assert ExportRun.objects.get(pk=run.pk).status == RunStatus.PENDING

    env = {
        **os.environ,
        "DATABASE_URL": _url_of(connection.settings_dict),
        "REGISTRY_EXPORT_ROOT": str(export_root),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    tasks.export_run_start.delay(run.pk)
    first = start_worker("first", env)
    second = None
    try:

        def some_partitions_done():
            """the first worker to be part-way through the run"""
            r = ExportRun.objects.get(pk=run.pk)
            return r.status == RunStatus.RUNNING and 3 <= r.partitions_done

        wait_for(some_partitions_done, timeout=40)
        stop(first, signal.SIGKILL)
        killed = ExportRun.objects.get(pk=run.pk)
        assert killed.status == RunStatus.RUNNING
        assert killed.partitions_done < killed.partitions_total

        second = start_worker("second", env)
        tasks.export_runs_resume.delay()  # what beat sends every few minutes

        def finished():
            """the run to finish"""
            r = ExportRun.objects.get(pk=run.pk)
            return r if r.status in (RunStatus.SUCCEEDED, RunStatus.FAILED) else None

        done = wait_for(finished, timeout=45, every=0.2)

        def parts_removed():
            """the part files to be removed"""
            return not storage.parts_dir(done).exists()

        wait_for(parts_removed, timeout=10, every=0.1)
    finally:
        stop(first)
        if second is not None:
            stop(second, signal.SIGTERM)

    assert done.status == RunStatus.SUCCEEDED, done.error
    assert ExportRun.objects.filter(destination=destination).count() == 1
    assert done.attempts == 1 and done.partitions_done == done.partitions_total > 3
    got = {p.name: p.read_bytes() for p in sorted(storage.run_dir(done).iterdir())}
    assert got == expected
    for f in done.files:
        assert f["sha256"] == hashlib.sha256(expected[f["name"]]).hexdigest()
    # Nothing partial anywhere: only the finished folder of the one run.
    leftovers = sorted(p.name for p in storage.destination_dir(destination.pk).iterdir())
    assert leftovers == [f"run-{run.pk}"]


def _url_of(db: dict) -> str:
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"
