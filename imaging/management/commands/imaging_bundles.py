"""List the model bundles found on disk; with --self-test, run each on its example inputs."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from imaging import bundles, selftest


class Command(BaseCommand):
    help = "List imaging bundles (imaging/bundles/ and IMAGING_BUNDLE_DIRS); --self-test runs them."

    def add_arguments(self, parser):
        parser.add_argument(
            "--self-test",
            action="store_true",
            help="run every bundle on its bundled examples; exit non-zero on any difference",
        )
        parser.add_argument("--json", action="store_true", help="print the list as JSON")

    def handle(self, *args, self_test: bool = False, json: bool = False, **options):
        found, errors = bundles.discover()
        if json:
            self.stdout.write(_dumps([b.describe() for b in found]))
        else:
            for b in found:
                d = b.describe()
                demo = " [demonstration only]" if d["demonstration_only"] else ""
                self.stdout.write(f"{d['name']} {d['version']} ({d['role']}): {d['task']}{demo}")
        for err in errors:
            self.stderr.write(f"invalid bundle: {err}")
        problems: list[str] = []
        if self_test:
            for b in found:
                found_problems = selftest.self_test(b)
                problems += found_problems
                status = "FAILED" if found_problems else "ok"
                self.stdout.write(f"self-test {b.name}: {status}")
            for p in problems:
                self.stderr.write(p)
        if errors or problems:
            raise CommandError(
                f"{len(errors)} invalid bundle(s), {len(problems)} self-test difference(s)"
            )


def _dumps(obj) -> str:
    return json.dumps(obj, indent=2)
