"""Reminders: dispatching the daily reminder to N patients, against the floor of sending the
same number of pre-rendered messages over one SMTP connection to the same local sink, measured
in the same run. Targets (issue 12): dispatch time at most 1.5x the floor; memory flat (peak
RSS at N at most 1.1x the peak at N/10, plus 8 MiB of allocator slack).

Dispatch: `reminders.services.reminders_dispatch`, the beat task's path (keyset batches of the
due patients, diary selectors for "logged today" and "questionnaire due", the claim INSERT ...
ON CONFLICT per batch, Django's SMTP backend with one connection per batch, the status update),
in a fresh child process so its peak RSS is its own. Every patient is due (reminder time 00:00,
every day, in a mix of time zones) and has questionnaires due, as a new patient has.
Floor: the same number of messages rendered beforehand (the same headers and body shape), then
only `smtplib.SMTP.sendmail` over one connection, timed; no database, no rendering.
Sink: aiosmtpd's discarding Sink handler in its own process on 127.0.0.1:8153, the same for both.

Runs in its own scratch database (Django's test-database machinery: created, migrated, dropped).
Usage: bench_reminders.py [--patients N] [--small M] [--repeat R]. Default (make bench): 100,000
and 10,000 patients, each measured twice (dispatch and floor alternately; the faster counts).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import smtplib
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("EMAIL_HOST", "127.0.0.1")
os.environ.setdefault("EMAIL_PORT", os.environ.get("BENCH_SMTP_PORT", "8153"))
os.environ.setdefault("EMAIL_USE_TLS", "false")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

TIME_TARGET = 1.5
MEMORY_GROWTH_TARGET = 1.1
MEMORY_SLACK_KIB = 8 * 1024
ZONES = ["Europe/London", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "UTC"]
SMTP_HOST = os.environ["EMAIL_HOST"]
SMTP_PORT = int(os.environ["EMAIL_PORT"])


def peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# --- Children -------------------------------------------------------------------------------
def child_dispatch() -> int:
    from django.core.mail.utils import DNS_NAME
    from django.urls import reverse

    from reminders import services

    # What a long-running worker has done once, before its first tick: load the URLconf and
    # look up the host name for Message-IDs.
    reverse("reminders:settings")
    str(DNS_NAME)
    start = time.perf_counter()
    stats = services.reminders_dispatch()
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_kib": peak_kib(), **stats.as_dict()}))
    return 0


def child_floor(count: int) -> int:
    """Pre-render `count` messages like the dispatch's, then time sending them alone."""
    from datetime import date

    from reminders import messages
    from reminders.selectors import Due

    today = date.today()
    rendered = []
    for i in range(count):
        due = Due(
            patient_id=i + 1, patient_public_id=uuid.uuid4(),
            email_address=f"bench-{i}@example.org", day=today, diary=True,
            questionnaire_day=today, email=True, push=False, generation=1,
        )  # fmt: skip
        message = messages.fast_reminder_email(due, diary=True, questionnaire=True)
        rendered.append((due.email_address, message.raw))
    start = time.perf_counter()
    with smtplib.SMTP(SMTP_HOST, SMTP_PORT) as smtp:
        for to, raw in rendered:
            smtp.sendmail("reminders@localhost", [to], raw)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "bytes": sum(len(r) for _, r in rendered)}))
    return 0


def in_child(args: list[str], env: dict) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit(f"the child {args} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- The parent -----------------------------------------------------------------------------
def start_sink() -> subprocess.Popen:
    sink = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"{SMTP_HOST}:{SMTP_PORT}",
         "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection((SMTP_HOST, SMTP_PORT), timeout=1).close()
            return sink
        except OSError:
            time.sleep(0.1)
    sink.kill()
    raise SystemExit(f"the SMTP sink did not start on {SMTP_HOST}:{SMTP_PORT}")


def seed(first: int, last: int) -> float:
    """Patients first..last-1 with reminders on, due all day (bulk inserts in chunks)."""
    from datetime import time as clock

    from django.utils import timezone

    from accounts.models import Role, User
    from reminders.models import ReminderSettings

    start = time.perf_counter()
    now = timezone.now()
    for low in range(first, last, 5000):
        users = User.objects.bulk_create(
            User(
                email=f"bench-{i}@example.org",
                role=Role.PATIENT,
                password="!",  # noqa: S106 - an unusable password, not a secret
                time_zone=ZONES[i % len(ZONES)],
                date_joined=now,
            )  # fmt: skip
            for i in range(low, min(last, low + 5000))
        )
        ReminderSettings.objects.bulk_create(
            ReminderSettings(patient=u, enabled=True, remind_at=clock(0, 0), email=True)
            for u in users
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return time.perf_counter() - start


def database_url(db: dict) -> str:
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    return f"postgres://{db.get('USER') or 'postgres'}{password}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"  # noqa: E501


def measure(size: int, seeded: int, env: dict, repeat: int) -> dict:
    """Dispatch and floor alternately, `repeat` times each; the fastest of each counts (on a
    shared machine the slower runs measure the neighbours, not the code)."""
    from reminders.models import ReminderSend

    seeding = seed(seeded, size)
    dispatches, floors = [], []
    for _ in range(repeat):
        ReminderSend.objects.all().delete()
        dispatches.append(in_child(["--child", "dispatch"], env))
        floors.append(in_child(["--child", "floor", "--count", str(size)], env))
    return {
        "size": size,
        "seeding": seeding,
        "dispatch": min(dispatches, key=lambda d: d["seconds"]),
        "floor": min(floors, key=lambda f: f["seconds"]),
        "all": (
            [round(d["seconds"], 1) for d in dispatches],
            [round(f["seconds"], 1) for f in floors],
        ),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--child", choices=["dispatch", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.child == "dispatch":
        return child_dispatch()
    if opts.child == "floor":
        return child_floor(opts.count)
    small = opts.small or max(1, opts.patients // 10)
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"bench_reminders_{os.getpid()}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    sink = start_sink()
    results = []
    try:
        env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict)}
        seeded = 0
        for size in (small, opts.patients):
            results.append(measure(size, seeded, env, opts.repeat))
            seeded = size
    finally:
        sink.terminate()
        sink.wait(timeout=10)
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)
    return report(results)


def report(results: list[dict]) -> int:
    print("Reminders dispatch vs pre-rendered messages over one SMTP connection (same sink):")
    for r in results:
        d, f = r["dispatch"], r["floor"]
        print(
            f"  {r['size']:>7,} patients: dispatch {d['seconds']:7.1f} s "
            f"({d['emails_sent'] / d['seconds']:,.0f} mails/s, {d['batches']} batches), "
            f"floor {f['seconds']:7.1f} s ({r['size'] / f['seconds']:,.0f} mails/s), "
            f"ratio {d['seconds'] / f['seconds']:.2f}x, peak {d['peak_kib'] / 1024:6.1f} MiB "
            f"(runs: dispatch {r['all'][0]}, floor {r['all'][1]})"
        )
        if d["emails_sent"] != r["size"]:
            print(f"  FAILED: {d['emails_sent']} mails sent for {r['size']} patients")
            return 1
    small, large = results[0], results[-1]
    ratio = large["dispatch"]["seconds"] / large["floor"]["seconds"]
    growth = large["dispatch"]["peak_kib"] / small["dispatch"]["peak_kib"]
    memory_ok = large["dispatch"]["peak_kib"] <= (
        small["dispatch"]["peak_kib"] * MEMORY_GROWTH_TARGET + MEMORY_SLACK_KIB
    )
    print(f"  time: {ratio:.2f}x the floor at {large['size']:,} (target <= {TIME_TARGET}x)")
    print(
        f"  memory: peak {growth:.2f}x from {small['size']:,} to {large['size']:,} patients "
        f"(target <= {MEMORY_GROWTH_TARGET}x + {MEMORY_SLACK_KIB // 1024} MiB)"
    )
    ok = ratio <= TIME_TARGET and memory_ok
    print("  OK" if ok else "  TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
