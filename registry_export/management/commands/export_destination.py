"""Create an export destination: what operators script (and the benchmark uses)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Role, User
from registry_export import services
from registry_export.models import ConsentScope, ExportMode

SCOPE_ALIASES = {
    "registry": ConsentScope.REGISTRY_SHARING,
    "registry_sharing": ConsentScope.REGISTRY_SHARING,
    "linkage": ConsentScope.NHS_LINKAGE,
    "nhs_linkage": ConsentScope.NHS_LINKAGE,
}


class Command(BaseCommand):
    help = "Create a registry export destination and print its id."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--formats", default="fhir,redcap", help="fhir, redcap or both")
        parser.add_argument(
            "--scope", required=True, help="registry (registry sharing) or linkage (NHS linkage)"
        )
        parser.add_argument(
            "--registry", default="uk-pssr", help="registry slug, for --scope registry"
        )
        parser.add_argument("--mode", choices=ExportMode.values, default=ExportMode.FULL)
        parser.add_argument("--researcher", action="append", default=[], help="email (repeat)")
        parser.add_argument("--partition-size", type=int, default=2000)

    def handle(self, *args, **opts):
        from consent.models import Registry

        scope = SCOPE_ALIASES.get(opts["scope"].strip().lower())
        if scope is None:
            raise CommandError(f"Unknown --scope {opts['scope']!r}: use registry or linkage.")
        registry = None
        if scope == ConsentScope.REGISTRY_SHARING:
            registry = Registry.objects.filter(slug=opts["registry"]).first()
            if registry is None:
                raise CommandError(f"No registry with slug {opts['registry']!r}.")
        researchers = []
        for email in opts["researcher"]:
            user = User.objects.filter(email__iexact=email, role=Role.RESEARCHER).first()
            if user is None:
                raise CommandError(f"No researcher with email {email!r}.")
            researchers.append(user)
        try:
            destination = services.destination_create(
                name=opts["name"],
                formats=opts["formats"].split(","),
                consent_scope=scope,
                registry=registry,
                mode=opts["mode"],
                researchers=researchers,
                partition_size=opts["partition_size"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(str(destination.pk))
