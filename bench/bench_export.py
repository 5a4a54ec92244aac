"""P2: registry export of N patients x 365 days to both formats (FHIR R4 NDJSON and REDCap CSV),
against what any exporter must do, measured in the same run: read the rows (PostgreSQL's
`COPY ... TO` of the same rows) plus write and hash the output once (the output floor).
Targets (issue 11, re-based from issue 5): export time at most 1.5x (COPY + output floor);
peak memory under 512 MiB, and at most 1.1x between the small and the large size (constant
memory whatever the size). Both ratios are printed: against COPY alone, and against COPY +
floor (the target).

Export: `registry_export.services.export_run_foreground`, the path of `manage.py export_run`
(consent snapshot, partitions, server-side cursors, per-chunk decryption, both writers, manifest),
run in a fresh child process (one writer process per core, as the command runs) so that its
peak RSS is the export's alone.
Baseline: `COPY (SELECT ...) TO STDOUT` of the diary rows the run reads (entries, questionnaires
and medicines of the run's patients, in the export's order) into a file, through psycopg.

The output floor: the time to write the run's number of bytes once and SHA-256 them (what any
exporter of these files must at least do, with no reading, decryption or formatting). Each
partition writes its own files (no concatenation pass), so the export writes each byte once.

Runs in its own scratch database (Django's test-database machinery: created, migrated,
dropped); seeding uses demo.synthetic (COPY, realistic consent mix: most patients share).
Usage: bench_export.py [--patients N] [--small M] [--days D]. Defaults (make bench):
1,000 and 100 patients x 365 days, a few minutes on two cores; the issue's full size is
`--patients 10000 --small 1000`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

TIME_TARGET = 1.5  # x (COPY + output floor)
MEMORY_LIMIT_MIB = 512
MEMORY_GROWTH_TARGET = 1.1
WORKERS = os.cpu_count() or 1
BASELINE_SQL = [
    "COPY (SELECT e.id, e.patient_id, e.date, e.payload, e.created_at, e.updated_at,"
    " e.amended_at FROM diary_dailyentry e JOIN registry_export_exportrunmember m"
    " ON m.patient_id = e.patient_id AND m.run_id = %(run)s"
    " ORDER BY e.patient_id, e.date) TO STDOUT",
    "COPY (SELECT q.* FROM diary_questionnaireresponse q JOIN registry_export_exportrunmember m"
    " ON m.patient_id = q.patient_id AND m.run_id = %(run)s"
    " ORDER BY q.patient_id, q.completed_at) TO STDOUT",
    "COPY (SELECT d.* FROM diary_medicine d JOIN registry_export_exportrunmember m"
    " ON m.patient_id = d.patient_id AND m.run_id = %(run)s"
    " ORDER BY d.patient_id, d.start_date) TO STDOUT",
]


# --- The child: one export in a fresh process ---------------------------------------------------
def _cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (the writer processes).

    Printed beside the wall times: on a machine shared with other work the wall-time ratios
    move with the load, while CPU seconds per byte change only with the code."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def child(destination_name: str) -> int:
    from registry_export import services
    from registry_export.models import Destination

    destination = Destination.objects.get(name=destination_name)
    run, _ = services.export_run_request(destination=destination, trigger="command", dispatch=False)
    cpu_start = _cpu_seconds()
    start = time.perf_counter()
    # As `manage.py export_run` runs outside tests: one writer process per core.
    run = services.export_run_foreground(run=run, workers=WORKERS)
    seconds = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu_start
    # The parent plans and assembles; forked children write partitions. Count the parent plus
    # every writer at its own peak at once: an upper bound on the memory the run holds.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    writer = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    writers = min(WORKERS, run.partitions_total) if writer else 0
    peak_kib = own + writers * writer
    size = sum(f["bytes"] for f in run.files)
    print(json.dumps({"run": run.pk, "seconds": seconds, "cpu": cpu, "peak_kib": peak_kib,
                      "bytes": size, "patients": run.patients_total, "entries": run.rows_total,
                      "partitions": run.partitions_total}))  # fmt: skip
    return 0


def export_in_child(destination_name: str, env: dict) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", destination_name],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit("the export child failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- The parent ---------------------------------------------------------------------------------
def output_floor(size: int, folder: Path) -> tuple[float, float]:
    """Write `size` bytes in 1 MiB blocks into a new file and SHA-256 them, once: (wall, CPU)."""
    import hashlib

    block = os.urandom(1 << 20)
    cpu_start = time.process_time()
    start = time.perf_counter()
    digest = hashlib.sha256()
    with open(folder / "floor.bin", "wb") as out:
        for _ in range(size >> 20):
            out.write(block)
            digest.update(block)
    digest.hexdigest()
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    (folder / "floor.bin").unlink()
    return seconds, cpu


def copy_baseline(run_id: int, folder: Path) -> float:
    start = time.perf_counter()
    with connection.cursor() as cursor:
        for n, sql in enumerate(BASELINE_SQL):
            with open(folder / f"copy-{n}.txt", "wb") as out, cursor.cursor.copy(
                sql, {"run": run_id}
            ) as copy:  # fmt: skip
                for block in copy:
                    out.write(block)
    return time.perf_counter() - start


def database_url(db: dict) -> str:
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    return f"postgres://{db.get('USER') or 'postgres'}{password}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"  # noqa: E501


def measure(size: int, days: int, seeded: int, env: dict, folder: Path) -> dict:
    from consent.models import Registry
    from demo.synthetic import generate_patients
    from registry_export import services

    t0 = time.perf_counter()
    generate_patients(count=size - seeded, days=days, seed=size)
    seeding = time.perf_counter() - t0
    name = f"bench-{size}"
    services.destination_create(
        name=name, formats=["fhir", "redcap"], consent_scope="registry_sharing",
        registry=Registry.objects.get(slug="uk-pssr"), partition_size=2000,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    export = export_in_child(name, env)
    # Alternate a second COPY and keep the faster one, so the baseline is not a cold cache.
    copy_s = min(copy_baseline(export["run"], folder) for _ in range(2))
    floor, floor_cpu = output_floor(export["bytes"], folder)
    return {
        "size": size, "seeding": seeding, "copy": copy_s, "floor": floor, "floor_cpu": floor_cpu,
        "load": os.getloadavg()[0], **export,
    }  # fmt: skip


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--small", type=int, default=None)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.child:
        return child(opts.child)
    small = opts.small or max(1, opts.patients // 10)
    settings_dict = connection.settings_dict
    settings_dict.setdefault("TEST", {})["NAME"] = f"bench_export_{os.getpid()}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
            env = {
                **os.environ,
                "DATABASE_URL": database_url(connection.settings_dict),
                "REGISTRY_EXPORT_ROOT": str(Path(tmp) / "exports"),
            }
            seeded = 0
            for size in (small, opts.patients):
                results.append(measure(size, opts.days, seeded, env, Path(tmp)))
                seeded = size
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)
    return report(results, opts.days)


def report(results: list[dict], days: int) -> int:
    print(f"P2 registry export, both formats, {days} days per patient, {WORKERS} writer processes:")
    for r in results:
        print(
            f"  {r['size']:>6} patients ({r['patients']} consenting, {r['entries']:,} entries): "
            f"export {r['seconds']:7.1f} s ({r['entries'] / r['seconds']:,.0f} entries/s), "
            f"COPY {r['copy']:6.2f} s, "
            f"peak {r['peak_kib'] / 1024:6.1f} MiB, "
            f"files {r['bytes'] / 2**20:7.1f} MiB (seeding {r['seeding']:.0f} s, "
            f"{r['partitions']} partitions)"
        )
        print(
            f"         output floor (write + SHA-256 the files' bytes once) {r['floor']:.2f} s = "
            f"{r['floor'] / r['copy']:.1f}x COPY"
        )
        print(
            f"         ratio against COPY {r['seconds'] / r['copy']:.2f}x; "
            f"against COPY + floor {r['seconds'] / (r['copy'] + r['floor']):.2f}x"
        )
        print(
            f"         CPU: export {r['cpu']:.2f} s in all its processes "
            f"({r['cpu'] / max(r['bytes'] / 2**30, 1e-9):.2f} s per GiB), floor "
            f"{r['floor_cpu']:.2f} s; export CPU / floor CPU {r['cpu'] / r['floor_cpu']:.2f}x "
            f"(load average {r['load']:.1f} on {WORKERS} cores)"
        )
    small, large = results[0], results[-1]
    ratio = large["seconds"] / (large["copy"] + large["floor"])
    peak = large["peak_kib"] / 1024
    growth = large["peak_kib"] / small["peak_kib"]
    checks = [
        (
            f"time ratio {ratio:.2f}x COPY + floor (target <= {TIME_TARGET}x; "
            f"{large['seconds'] / large['copy']:.2f}x COPY alone)",
            ratio <= TIME_TARGET,
        ),
        (f"peak memory {peak:.0f} MiB (target < {MEMORY_LIMIT_MIB} MiB)", peak < MEMORY_LIMIT_MIB),
        (
            f"memory growth {small['size']} -> {large['size']} patients {growth:.2f}x "
            f"(target <= {MEMORY_GROWTH_TARGET}x)",
            growth <= MEMORY_GROWTH_TARGET,
        ),
    ]
    for text, ok in checks:
        print(f"  {text} {'ok' if ok else 'MISSED'}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
