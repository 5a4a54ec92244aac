"""A real Celery worker on Redis is SIGKILLed in the middle of a partition, with no beat
running; another worker finishes the run (issue 16).

The workers run `celery -A config worker` in subprocesses against this test's database (a
transactional test, so the rows are committed and visible to them) and this test's broker, with
a partition lease of a few seconds (REGISTRY_EXPORT_LEASE_SECONDS) instead of minutes. Nothing
sends export_runs_resume the way beat would, and the killed worker's task stays unacknowledged
in Redis (its redelivery waits for the visibility timeout, hours): recovery is the workers' own.
A worker that starts resumes the run; a live worker's sweep hands the killed worker's partition
over once its lease runs out. The files must be exactly those of an undisturbed run.
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
from registry_export.models import ExportPartition, ExportRun, PartitionStatus, RunStatus

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


def start_worker(name: str, env: dict, log: Path | None = None) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
        "--concurrency=1", "--loglevel=WARNING", "-n", f"{name}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    # A session of its own, so that the whole worker can be killed as one group.
    if log is None:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    with open(log, "wb") as out:
        return subprocess.Popen(
            cmd, cwd=ROOT, env=env, start_new_session=True, stdout=out, stderr=subprocess.STDOUT
        )


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


LEASE_SECONDS = 3
# Starting a worker (Django, Celery) and writing the rest of the run on this machine's shared
# CPUs; the point is minutes-not-hours, so the margin is generous beside the 6 h redelivery.
MARGIN_SECONDS = 40


def killed_mid_partition(run, worker) -> ExportPartition:
    """SIGKILL the worker as soon as it has written a few partitions and holds another one's
    lease; returns that partition, left pending with a lease nobody renews."""

    def writing_one_more():
        """the first worker to be part-way through the run, holding a partition's lease"""
        r = ExportRun.objects.get(pk=run.pk)
        if r.status != RunStatus.RUNNING or r.partitions_done < 3:
            return None
        return (
            ExportPartition.objects.filter(run=run, status=PartitionStatus.PENDING)
            .exclude(lease_owner="")
            .first()
        )

    wait_for(writing_one_more, timeout=60, every=0.01)
    stop(worker, signal.SIGKILL)
    killed = ExportRun.objects.get(pk=run.pk)
    assert killed.status == RunStatus.RUNNING
    assert killed.partitions_done < killed.partitions_total
    held = ExportPartition.objects.filter(run=run, status=PartitionStatus.PENDING).exclude(
        lease_owner=""
    )
    assert held.count() == 1, "the worker was killed between two partitions"
    return held.get()


def finished(run):
    def check():
        """the run to finish"""
        r = ExportRun.objects.get(pk=run.pk)
        return r if r.status in (RunStatus.SUCCEEDED, RunStatus.FAILED) else None

    return check


def assert_undisturbed(done, run, destination, expected) -> None:
    wait_for(lambda: not storage.parts_dir(done).exists(), timeout=10, every=0.1)
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
    assert not ExportPartition.objects.filter(run=run).exclude(lease_owner="").exists()


def prepared_run(export_root, registry):
    import redis

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()  # this test's own broker db
    generate_patients(count=48, days=150, seed=5)  # most give registry-sharing consent
    destination = services.destination_create(
        name="Kill test", formats=["fhir", "redcap"], consent_scope="registry_sharing",
        registry=registry, partition_size=2,
    )  # fmt: skip
    # No beat: destination_create made its beat entries, but nothing here runs beat.
    run, _ = services.export_run_request(destination=destination, trigger="command", dispatch=False)
    expected = expected_files(run)
    assert ExportRun.objects.get(pk=run.pk).status == RunStatus.PENDING
    env = {
        **os.environ,
        "DATABASE_URL": _url_of(connection.settings_dict),
        "REGISTRY_EXPORT_ROOT": str(export_root),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "REGISTRY_EXPORT_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    return destination, run, expected, env


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_partition_without_beat_is_recovered_by_the_next_worker(
    export_root, registry
):
    destination, run, expected, env = prepared_run(export_root, registry)
    tasks.export_run_start.delay(run.pk)
    first = start_worker("first", env)
    second = None
    try:
        stalled = killed_mid_partition(run, first)
        killed_at = time.monotonic()
        second = start_worker("second", env)  # no export_runs_resume: nothing plays beat
        done = wait_for(finished(run), timeout=LEASE_SECONDS + MARGIN_SECONDS, every=0.2)
        took = time.monotonic() - killed_at
    finally:
        stop(first)
        if second is not None:
            stop(second, signal.SIGTERM)

    assert took < LEASE_SECONDS + MARGIN_SECONDS
    stalled.refresh_from_db()
    assert stalled.status == PartitionStatus.DONE
    assert_undisturbed(done, run, destination, expected)


@pytest.mark.django_db(transaction=True)
def test_a_live_worker_takes_over_the_partition_of_a_killed_one_once_its_lease_runs_out(
    export_root, registry, tmp_path
):
    """No worker starts after the kill: the one still running sweeps, finds the lease run out
    and sends the partition out again (before, it waited for beat or hours for Redis)."""
    destination, run, expected, env = prepared_run(export_root, registry)
    log = tmp_path / "survivor.log"
    survivor = start_worker("survivor", env, log)
    victim = start_worker("victim", env)
    try:
        tasks.export_run_start.delay(run.pk)

        def victim_is_writing():
            """both workers to hold a partition each"""
            held = ExportPartition.objects.filter(run=run, status=PartitionStatus.PENDING)
            done = ExportRun.objects.get(pk=run.pk).partitions_done
            return done >= 3 and held.exclude(lease_owner="").count() == 2

        wait_for(victim_is_writing, timeout=60, every=0.01)
        stop(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        done = wait_for(finished(run), timeout=LEASE_SECONDS + MARGIN_SECONDS, every=0.2)
        took = time.monotonic() - killed_at
    finally:
        stop(victim)
        stop(survivor, signal.SIGTERM)

    assert took < LEASE_SECONDS + MARGIN_SECONDS
    assert "taken over after their lease ran out" in log.read_text()
    assert_undisturbed(done, run, destination, expected)


def _url_of(db: dict) -> str:
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"
