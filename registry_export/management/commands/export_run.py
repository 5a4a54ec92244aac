"""Run one export in the foreground with a progress bar; prints the run's folder."""

from __future__ import annotations

import shutil
import sys
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from registry_export import services, storage
from registry_export.models import Destination, RunTrigger


class ProgressBar:
    """A one-line text progress bar on stderr (only when it is a terminal, or when forced)."""

    def __init__(self, stream, *, enabled: bool):
        self.stream = stream
        self.enabled = enabled
        self.done = 0
        self.total = 0
        self._last = 0.0

    def start(self, total: int) -> None:
        self.total = total
        self.draw(force=True)

    def advance(self, n: int) -> None:
        self.done = min(self.total, self.done + n)
        self.draw()

    def draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._last < 0.2):
            return
        self._last = now
        width = 40
        filled = int(width * self.done / self.total) if self.total else width
        pct = int(100 * self.done / self.total) if self.total else 100
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {pct:3d}% "
            f"{self.done}/{self.total} patients"
        )
        self.stream.flush()

    def finish(self) -> None:
        self.done = self.total
        self.draw(force=True)
        if self.enabled:
            self.stream.write("\n")


class Command(BaseCommand):
    help = "Run one export of a destination now, in this process, and print the run's folder."

    def add_arguments(self, parser):
        parser.add_argument("--destination", required=True, help="destination name")
        parser.add_argument("--full", action="store_true", help="export everything, not changes")
        parser.add_argument("--out", help="also copy the finished files into this folder")
        parser.add_argument("--partition-size", type=int, default=None)
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="processes writing partitions (default REGISTRY_EXPORT_WORKERS: the CPU count)",
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **opts):
        if opts["workers"] is not None and opts["workers"] < 1:
            raise CommandError("--workers must be at least 1.")
        destination = Destination.objects.filter(name=opts["destination"]).first()
        if destination is None:
            raise CommandError(f"No destination named {opts['destination']!r}.")
        try:
            run, created = services.export_run_request(
                destination=destination,
                trigger=RunTrigger.COMMAND,
                full=True if opts["full"] else None,
                dispatch=False,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        bar = ProgressBar(sys.stderr, enabled=not opts["no_progress"] and sys.stderr.isatty())
        try:
            run = services.export_run_foreground(
                run=run,
                partition_size=opts["partition_size"],
                workers=opts["workers"],
                on_planned=lambda r: bar.start(r.patients_total),
                on_progress=bar.advance,
            )
        except services.ExportError as exc:
            raise CommandError(str(exc)) from exc
        except Exception as exc:
            raise CommandError(f"Run {run.pk} failed: {type(exc).__name__}: {exc}") from exc
        bar.finish()
        folder = storage.run_dir(run)
        if opts["out"]:
            target = shutil.copytree(
                folder, f"{opts['out'].rstrip('/')}/run-{run.pk}", dirs_exist_ok=True
            )
            folder = target
        self.stdout.write(str(folder))
