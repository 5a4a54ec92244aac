"""A failed run records its error and leaves no file; running it again writes the same bytes."""

from __future__ import annotations

import shutil

import pytest
from django.db import IntegrityError, transaction

from registry_export import services, storage
from registry_export.formats.fhir import FhirWriter
from registry_export.models import ExportRun, RunStatus
from tests.registry_export.conftest import read_files, read_published

pytestmark = pytest.mark.django_db


def request_run(destination):
    run, _ = services.export_run_request(destination=destination, trigger="command", dispatch=False)
    return run


def files_of(destination) -> list[str]:
    """Every file or folder under the destination's export folder, relative."""
    folder = storage.destination_dir(destination.pk)
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def fail_on_patient(monkeypatch, n: int):
    """Make the FHIR writer raise on its n-th patient (counted across partitions)."""
    original = FhirWriter.write
    seen = {"n": 0}

    def write(self, data):
        seen["n"] += 1
        if seen["n"] == n:
            raise OSError("disk full (injected)")
        return original(self, data)

    monkeypatch.setattr(FhirWriter, "write", write)


def test_a_failed_run_records_the_error_and_leaves_no_file(
    cohort, destination, monkeypatch, django_capture_on_commit_callbacks
):
    fail_on_patient(monkeypatch, 3)
    run = request_run(destination)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(OSError):
        services.export_run_foreground(run=run, partition_size=2)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error == "OSError: disk full (injected)"
    assert run.finished_at is not None and run.files == []
    # The first partition had been written; nothing of it (nor any temporary) is left.
    assert files_of(destination) == []


def test_a_rerun_after_a_failure_writes_byte_identical_files(
    cohort, destination, monkeypatch, django_capture_on_commit_callbacks
):
    run = request_run(destination)
    # The reference: the same run done cleanly, then undone (the row goes back to pending).
    savepoint = transaction.savepoint()
    expected = read_published(services.export_run_foreground(run=run, partition_size=2))
    transaction.savepoint_rollback(savepoint)
    shutil.rmtree(storage.destination_dir(destination.pk))

    with monkeypatch.context() as patch:
        fail_on_patient(patch, 3)
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(OSError):
            services.export_run_foreground(run=run, partition_size=2)
    again = request_run(destination)
    assert again.pk == run.pk and again.status == RunStatus.PENDING
    assert again.period_end == run.period_end  # same period, same consent snapshot
    # The same partitioning on the retry: the same files, byte for byte.
    done = services.export_run_foreground(run=again, partition_size=2)

    assert done.status == RunStatus.SUCCEEDED and done.attempts == 2
    assert read_published(done) == expected
    # One file per type and partition (two partitions of two patients), nothing concatenated.
    assert {"Patient.00000.ndjson", "Patient.00001.ndjson"} <= set(expected)
    assert {"redcap_records.00000.csv", "redcap_records.00001.csv"} <= set(expected)
    assert "Patient.ndjson" not in expected


def test_a_different_partitioning_splits_the_same_records_differently(cohort, destination):
    run = request_run(destination)
    savepoint = transaction.savepoint()
    one = services.export_run_foreground(run=run, partition_size=10)
    joined_one = read_files(one)
    transaction.savepoint_rollback(savepoint)
    shutil.rmtree(storage.destination_dir(destination.pk))
    two = services.export_run_foreground(run=request_run(destination), partition_size=2)
    joined_two = read_files(two)
    assert one.partitions_total == 1 and two.partitions_total == 2
    # The records, in order, are the same; only their split into files (and so the manifest)
    # follows the partitioning.
    for name in set(joined_one) - {"manifest.json"}:
        assert joined_one[name] == joined_two[name], name


def test_a_run_left_running_by_a_killed_worker_resumes_and_cleans_up(
    cohort, destination, django_capture_on_commit_callbacks
):
    run = request_run(destination)
    run, pending = services.export_run_plan(run_id=run.pk, partition_size=2)
    assert pending == [0, 1]
    services.export_partition_write(run_id=run.pk, attempt=1, index=0, enqueue_finalize=False)
    # What a worker killed while writing partition 1 leaves: a half-written temporary folder.
    stale = storage.temp_sibling(storage.partition_dir(run, attempt=1, index=1))
    (stale / "Observation.ndjson").write_bytes(b'{"resourceType":"Observ')

    with django_capture_on_commit_callbacks(execute=True):
        done = services.export_run_foreground(run=run)

    assert done.status == RunStatus.SUCCEEDED and done.attempts == 1
    assert done.partitions_done == 2
    assert files_of(destination) == [f"run-{run.pk}"] + [
        f"run-{run.pk}/{name}" for name in sorted(done.file_names)
    ]
    for line in read_files(done)["Observation.ndjson"].splitlines():
        assert line.endswith(b"}")


def test_a_partition_task_delivered_twice_writes_once(cohort, destination):
    run = request_run(destination)
    run, _ = services.export_run_plan(run_id=run.pk, partition_size=10)
    assert services.export_partition_write(run_id=run.pk, attempt=1, index=0) is True
    assert services.export_partition_write(run_id=run.pk, attempt=1, index=0) is False
    run.refresh_from_db()
    assert run.partitions_done == 1
    assert services.export_run_finalize(run_id=run.pk) is True
    assert services.export_run_finalize(run_id=run.pk) is False


def test_the_database_refuses_a_second_run_for_the_same_period(cohort, destination):
    run = request_run(destination)
    services.export_run_foreground(run=run)
    with pytest.raises(IntegrityError), transaction.atomic():
        ExportRun.objects.create(
            destination=destination,
            period_start=run.period_start,
            period_end=run.period_end,
            status=RunStatus.SUCCEEDED,
            trigger="command",
        )


def test_a_new_run_after_success_covers_a_new_period(cohort, destination):
    first = services.export_run_foreground(run=request_run(destination))
    second = request_run(destination)
    assert second.pk != first.pk and second.period_end > first.period_end


# What a full disk or a killed copy leaves: a part shorter than its partition recorded.
@pytest.mark.parametrize("altered", [0, 1])
def test_a_cut_part_file_fails_the_run_instead_of_shipping_it(
    cohort, destination, django_capture_on_commit_callbacks, altered
):
    run = request_run(destination)
    run, _ = services.export_run_plan(run_id=run.pk, partition_size=2)
    for index in (0, 1):
        services.export_partition_write(
            run_id=run.pk, attempt=1, index=index, enqueue_finalize=False
        )
    part = storage.partition_dir(run, attempt=1, index=altered) / "Patient.ndjson"
    part.write_bytes(part.read_bytes()[:-10])
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(services.ExportError):
        services.export_run_foreground(run=run)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert f"Part file Patient.ndjson of partition {altered} is altered" in run.error
    assert files_of(destination) == []
