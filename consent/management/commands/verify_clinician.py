"""Mark a clinician account as verified by staff (the admin has the same action)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Role, User
from consent import services


class Command(BaseCommand):
    help = "Verify a clinician (e.g. after checking their professional registration)."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True, help="The clinician's sign-in email.")
        parser.add_argument(
            "--by", required=True, help="Email of the staff user who checked the clinician."
        )

    def handle(self, *args, email: str, by: str, **options):
        clinician = User.objects.filter(email=email.lower()).first()
        if clinician is None:
            raise CommandError(f"No account has the email {email}.")
        staff = User.objects.filter(email=by.lower(), role=Role.STAFF).first()
        if staff is None:
            raise CommandError(f"No staff account has the email {by}.")
        try:
            profile = services.clinician_verify(clinician=clinician, by=staff)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(
            f"{clinician.email} verified at {profile.verified_at:%Y-%m-%d %H:%M} UTC."
        )
