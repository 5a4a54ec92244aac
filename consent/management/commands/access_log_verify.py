"""Seal the access log's new rows, then recompute its hashes and report every break."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from consent import access_chain
from consent.models import AccessLogSeal


class Command(BaseCommand):
    help = "Verify the access log's hash chain (an edited or deleted row breaks it)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-seal", action="store_true", help="verify only; do not seal new rows first"
        )

    def handle(self, *args, no_seal: bool = False, **options):
        if not no_seal:
            while access_chain.seal():
                pass
        breaks = list(access_chain.verify())
        for found in breaks[:50]:
            self.stderr.write(f"{found.where}: {found.reason}")
        if breaks:
            raise CommandError(f"The access log's chain is broken in {len(breaks)} place(s).")
        self.stdout.write(
            f"Access log chain intact: {AccessLogSeal.objects.count()} rows sealed, "
            f"{access_chain.unsealed()} newer rows not yet sealed."
        )
