"""The partition lease (issue 16): a partition is written by the one worker holding its lease;
a lease nobody renews runs out and the partition goes to another worker; a writer whose lease
was taken over publishes nothing. The real-worker SIGKILL tests are in test_worker_killed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models.functions import Now

from registry_export import services, storage
from registry_export.models import ExportPartition, ExportRun, PartitionStatus, RunStatus
from tests.registry_export.conftest import read_files

pytestmark = pytest.mark.django_db


class RecordingQueue:
    """The services' TaskQueue, recording what would go to the workers."""

    def __init__(self) -> None:
        self.sent: list[tuple] = []

    def start_run(self, run_id):
        self.sent.append(("start", run_id))

    def write_partitions(self, run_id, attempt, indexes):
        self.sent.append(("write", run_id, attempt, list(indexes)))

    def finalize_run(self, run_id):
        self.sent.append(("finalize", run_id))


@pytest.fixture
def queue(monkeypatch):
    recording = RecordingQueue()
    monkeypatch.setattr(services, "task_queue", recording)
    return recording


def planned_run(destination):
    run, _ = services.export_run_request(destination=destination, trigger="command", dispatch=False)
    run, pending = services.export_run_plan(run_id=run.pk, partition_size=2)
    assert pending == [0, 1]
    return run


def lease(run, index: int, *, owner: str, expires_in: timedelta) -> None:
    """What a worker writing partition `index` leaves behind in the table."""
    ExportPartition.objects.filter(run=run, index=index).update(
        lease_owner=owner, lease_expires_at=Now() + expires_in
    )


def test_a_partition_under_a_live_lease_is_not_written_by_another_worker(
    cohort, destination, queue
):
    run = planned_run(destination)
    lease(run, 0, owner="a" * 32, expires_in=timedelta(minutes=2))
    assert services.export_partition_write(run_id=run.pk, attempt=1, index=0) is False
    part = ExportPartition.objects.get(run=run, index=0)
    assert part.status == PartitionStatus.PENDING and part.lease_owner == "a" * 32
    assert not storage.partition_dir(run, attempt=1, index=0).exists()
    # The other partition is free: written, and its lease given back when done.
    assert services.export_partition_write(run_id=run.pk, attempt=1, index=1) is True
    done = ExportPartition.objects.get(run=run, index=1)
    assert done.status == PartitionStatus.DONE
    assert done.lease_owner == "" and done.lease_expires_at is None


def test_a_partition_whose_lease_ran_out_is_written_by_the_next_worker(cohort, destination, queue):
    run = planned_run(destination)
    lease(run, 0, owner="a" * 32, expires_in=timedelta(seconds=-1))
    assert services.export_partition_write(run_id=run.pk, attempt=1, index=0) is True
    assert ExportPartition.objects.get(run=run, index=0).status == PartitionStatus.DONE


def test_reclaim_sends_out_only_partitions_whose_lease_ran_out(
    cohort, destination, queue, django_capture_on_commit_callbacks
):
    run = planned_run(destination)
    lease(run, 0, owner="a" * 32, expires_in=timedelta(seconds=-5))  # a dead worker's
    lease(run, 1, owner="b" * 32, expires_in=timedelta(minutes=2))  # a live worker's
    with django_capture_on_commit_callbacks(execute=True):
        assert services.export_runs_reclaim() == 1
    assert queue.sent == [("write", run.pk, 1, [0])]
    released = ExportPartition.objects.get(run=run, index=0)
    assert released.lease_owner == "" and released.lease_expires_at is None
    assert ExportPartition.objects.get(run=run, index=1).lease_owner == "b" * 32
    # Released: the next sweep leaves it to the worker the message goes to.
    with django_capture_on_commit_callbacks(execute=True):
        assert services.export_runs_reclaim() == 0
    assert len(queue.sent) == 1


def test_reclaim_leaves_partitions_of_a_run_no_longer_running(cohort, destination, queue):
    run = planned_run(destination)
    lease(run, 0, owner="a" * 32, expires_in=timedelta(seconds=-5))
    services.export_run_cancel(run_id=run.pk, reason="stopped by a researcher")
    assert services.export_runs_reclaim() == 0
    assert queue.sent == []


def test_resume_at_worker_start_skips_partitions_under_a_live_lease(cohort, destination, queue):
    run = planned_run(destination)
    lease(run, 0, owner="b" * 32, expires_in=timedelta(minutes=2))
    assert services.export_runs_resume() == 1
    assert queue.sent == [("write", run.pk, 1, [1])]


def test_resume_finalizes_a_run_whose_partitions_are_all_written(cohort, destination, queue):
    run = planned_run(destination)
    for index in (0, 1):
        services.export_partition_write(
            run_id=run.pk, attempt=1, index=index, enqueue_finalize=False
        )
    assert services.export_runs_resume() == 1
    assert queue.sent == [("finalize", run.pk)]


def test_a_writer_whose_lease_was_taken_over_publishes_nothing(
    cohort, destination, queue, monkeypatch, django_capture_on_commit_callbacks
):
    """The first writer stalls past its lease; a second takes the partition over and finishes
    it. When the first wakes up, it finds the lease gone and throws its output away."""
    run = planned_run(destination)
    real = services._write_partition
    taken_over = {}

    def stalled_then_overtaken(run_, partition, tmp, on_progress, lease_):
        summary = real(run_, partition, tmp, on_progress, lease_)
        if "second" not in taken_over:
            taken_over["second"] = None  # the second writer does not stall
            # While this writer stalls, its lease runs out and another worker takes over.
            ExportPartition.objects.filter(pk=partition.pk).update(lease_expires_at=Now())
            taken_over["second"] = services.export_partition_write(
                run_id=run_.pk, attempt=1, index=partition.index, enqueue_finalize=False
            )
        return summary

    monkeypatch.setattr(services, "_write_partition", stalled_then_overtaken)
    assert services.export_partition_write(run_id=run.pk, attempt=1, index=0) is False
    assert taken_over == {"second": True}
    run.refresh_from_db()
    assert run.partitions_done == 1 and run.status == RunStatus.RUNNING
    # Only the second writer's folder is there, and no temporary folder of the first.
    parts = storage.parts_dir(run)
    assert sorted(p.name for p in parts.iterdir()) == ["a1-p00000"]


def test_a_lease_renewal_that_finds_the_partition_taken_stops_the_writer(
    cohort, destination, queue, settings, monkeypatch
):
    """Renewal is how a writer learns its lease was taken: it stops at once, raising nothing
    that would fail the run."""
    settings.REGISTRY_EXPORT_LEASE_SECONDS = 3
    run = planned_run(destination)
    real_renew = services._Lease.renew_if_due

    def renew_after_takeover(self):
        ExportPartition.objects.filter(pk=self.partition_pk).update(lease_owner="c" * 32)
        self.due = 0  # due now
        return real_renew(self)

    monkeypatch.setattr(services._Lease, "renew_if_due", renew_after_takeover)
    assert services.export_partition_write(run_id=run.pk, attempt=1, index=0) is False
    assert ExportRun.objects.get(pk=run.pk).status == RunStatus.RUNNING
    part = ExportPartition.objects.get(run=run, index=0)
    assert part.status == PartitionStatus.PENDING and part.lease_owner == "c" * 32
    assert not storage.partition_dir(run, attempt=1, index=0).exists()


def test_a_run_with_a_taken_over_partition_writes_the_same_files(cohort, destination, queue):
    """A partition written after a dead worker's lease ran out gives the same bytes."""
    run = planned_run(destination)
    lease(run, 1, owner="d" * 32, expires_in=timedelta(seconds=-1))
    stale = storage.temp_sibling(storage.partition_dir(run, attempt=1, index=1))
    (stale / "Patient.ndjson").write_bytes(b'{"resourceType":"Pat')
    done = services.export_run_foreground(run=run)
    assert done.status == RunStatus.SUCCEEDED
    for line in read_files(done)["Patient.ndjson"].splitlines():
        assert line.endswith(b"}")
    assert not ExportPartition.objects.filter(run=run).exclude(lease_owner="").exists()
