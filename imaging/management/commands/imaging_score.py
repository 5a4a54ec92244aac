"""Score one file from the command line and print the result as JSON (nothing is stored)."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from imaging import pipeline
from imaging.bundles import BundleError
from imaging.inputs import InputError, decode_image


class Command(BaseCommand):
    help = "Score a hand radiograph (DICOM, PNG or JPEG) and print the result as JSON."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--bundle", help="name of the joint-scorer bundle to use")

    def handle(self, *args, file: Path, bundle: str | None = None, **options):
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from exc
        try:
            decoded = decode_image(data)
            bundles = pipeline.Bundles.default(bundle)
        except InputError as exc:
            raise CommandError(f"{file}: {exc.message}") from exc
        except BundleError as exc:
            raise CommandError(str(exc)) from exc
        analysis = pipeline.analyse(
            decoded.pixels, bundles=bundles, review_reason=decoded.review_reason
        )
        out = analysis.as_json()
        out["input"] = {"kind": decoded.kind, "header": decoded.header}
        self.stdout.write(json.dumps(out, indent=2))
