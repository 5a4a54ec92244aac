"""Register a registry's Bulk Data backend client (SMART Backend Services) for one destination.

    python manage.py export_client --destination NAME --name CLIENT --public-key FILE

FILE is the client's public key: a JWKS, a single JWK, or a PEM file (RSA, or EC P-384). The
client id is printed on the last line as `client_id: ...`; the registry puts it in the `iss`
and `sub` of its signed assertions.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from registry_export.bulk.auth import bulk_client_register
from registry_export.models import Destination


class Command(BaseCommand):
    help = "Register a FHIR Bulk Data backend client for a destination and print its client id."

    def add_arguments(self, parser):
        parser.add_argument("--destination", required=True, help="destination name")
        parser.add_argument("--name", required=True, help="a name for the client")
        parser.add_argument("--public-key", required=True, help="JWKS, JWK or PEM file")

    def handle(self, *args, **opts):
        destination = Destination.objects.filter(name=opts["destination"]).first()
        if destination is None:
            raise CommandError(f"No destination is named {opts['destination']!r}.")
        path = Path(opts["public_key"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        try:
            client = bulk_client_register(
                destination=destination, name=opts["name"], public_key=data
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(f"Registered {client.name} for {destination.name}.")
        self.stdout.write(f"token URL: /fhir/auth/token, group: /fhir/Group/{destination.name}")
        self.stdout.write(f"client_id: {client.client_id}")
