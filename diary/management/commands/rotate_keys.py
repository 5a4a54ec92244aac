"""Rewrap every patient's data key under the first key-encryption key (DIARY_KEKS[0]).

Run it after putting a new KEK first in DIARY_KEKS (keep the old one after it). It is resumable
and idempotent: batches commit one by one and keys already under the first KEK are skipped.
Once it reports 0 keys left under other KEKs, the old KEK can be removed from DIARY_KEKS.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from diary import services
from diary.models import PatientKey
from diary.tasks import rotate_keys


class Command(BaseCommand):
    help = "Rewrap every patient data key under the first key-encryption key."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--async",
            dest="run_async",
            action="store_true",
            help="queue the Celery task instead of running here",
        )

    def handle(self, *args, batch_size: int, run_async: bool, **options):
        if batch_size < 1:
            self.stderr.write("--batch-size must be at least 1.")
            raise SystemExit(2)
        primary = settings.DIARY_KEKS[0][0]
        if run_async:
            rotate_keys.delay(batch_size=batch_size)
            self.stdout.write(f"Queued key rotation to {primary}.")
            return
        totals = services.keys_rotate(batch_size=batch_size, progress=self._progress)
        left = PatientKey.objects.filter(destroyed_at__isnull=True).exclude(kek_id=primary).count()
        self.stdout.write(
            f"Rotated to {primary}: {totals['rewrapped']} rewrapped, "
            f"{totals['already_current']} already current, {totals['destroyed']} destroyed "
            f"(skipped), {left} left under other keys."
        )

    def _progress(self, totals: dict) -> None:
        done = sum(totals.values())
        self.stdout.write(f"  ... {done} keys checked", ending="\r")
