"""The foreground run (`manage.py export_run`) writes partitions with several processes, and the
files are exactly those of one process. Transactional: the writer processes must see the rows."""

from __future__ import annotations

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from registry_export import services, storage
from registry_export.formats.fhir import FhirWriter
from registry_export.models import ExportPartition, PartitionStatus, RunStatus
from tests.registry_export.conftest import read_files

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (make test)"),
]


class Undo(Exception):
    pass


def request_run(destination):
    run, _ = services.export_run_request(destination=destination, trigger="command", dispatch=False)
    return run


def files_in_one_process(run) -> dict[str, bytes]:
    """The run done by this process alone inside a transaction, then undone."""
    try:
        with transaction.atomic():
            done = services.export_run_foreground(run=run, workers=2)
            assert done.partitions_total == 1  # in a transaction the workers setting gives way
            files = read_files(done)
            raise Undo
    except Undo:
        pass
    storage.remove_run_files(run, keep_final=False)
    return files


def test_two_writer_processes_write_the_bytes_of_one(cohort, destination):
    run = request_run(destination)
    expected = files_in_one_process(run)
    progress = []

    done = services.export_run_foreground(run=run, workers=2, on_progress=progress.append)

    assert done.status == RunStatus.SUCCEEDED
    # Partitions follow the processes (the destination's size of 2,000 would give one).
    assert done.partitions_total == 2
    # The same records in the same order, split into one file per type and process.
    joined = read_files(done)
    assert set(joined) == set(expected)
    for name in set(expected) - {"manifest.json"}:
        assert joined[name] == expected[name], name
    assert "Patient.00001.ndjson" in done.file_names
    # The children reported every patient to the parent's progress bar.
    assert sum(progress) == done.patients_total == 4


def test_a_failing_writer_process_fails_the_run_and_leaves_no_file(
    cohort, destination, monkeypatch
):
    original = FhirWriter.write

    def write(self, data):
        if data.patient.patient_id == cohort[3].pk:
            raise OSError("disk full (injected)")
        return original(self, data)

    # Patched before the fork, so the child writing the last partition inherits it.
    monkeypatch.setattr(FhirWriter, "write", write)
    run = request_run(destination)
    with pytest.raises(OSError, match="disk full"):
        services.export_run_foreground(run=run, workers=2)

    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error == "OSError: disk full (injected)"
    folder = storage.destination_dir(destination.pk)
    assert not folder.exists() or list(folder.rglob("*")) == []


def test_a_partition_being_written_does_not_hold_up_the_others(cohort, destination, monkeypatch):
    """Two workers on one run at once: locking one partition must not lock the run row (which
    would make the other worker skip its partition as if it were taken)."""
    run, pending = services.export_run_plan(run_id=request_run(destination).pk, partition_size=2)
    assert pending == [0, 1]
    writing, release = threading.Event(), threading.Event()
    real = services._write_partition

    def slow(run, partition, *args):
        if partition.index == 1:
            writing.set()
            release.wait(10)
        return real(run, partition, *args)

    monkeypatch.setattr(services, "_write_partition", slow)

    def other_worker():
        try:
            services.export_partition_write(
                run_id=run.pk, attempt=run.attempts, index=1, enqueue_finalize=False
            )
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert writing.wait(10)
        assert services.export_partition_write(
            run_id=run.pk, attempt=run.attempts, index=0, enqueue_finalize=False
        )
    finally:
        release.set()
        thread.join(10)
    statuses = ExportPartition.objects.filter(run=run).values_list("status", flat=True)
    assert set(statuses) == {PartitionStatus.DONE}


def test_export_run_command_takes_a_number_of_workers(cohort, destination, capsys):
    call_command("export_run", "--destination", destination.name, "--workers", "2")
    run = destination.runs.get()
    assert run.status == RunStatus.SUCCEEDED and run.partitions_total == 2
    assert capsys.readouterr().out.strip() == str(storage.run_dir(run))


def test_export_run_command_refuses_zero_workers(destination):
    with pytest.raises(CommandError, match="--workers must be at least 1"):
        call_command("export_run", "--destination", destination.name, "--workers", "0")
