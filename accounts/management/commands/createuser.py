import getpass
import secrets
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from accounts.models import Role, User
from accounts.services import user_create


class Command(BaseCommand):
    help = "Create a user of a given role (clinicians, researchers and staff are made this way)."

    def add_arguments(self, parser):
        parser.add_argument("--role", required=True, help=f"one of: {', '.join(Role.values)}")
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", default="", help="display name")
        parser.add_argument(
            "--generate-password",
            action="store_true",
            help="generate a password and print it instead of prompting",
        )

    def handle(self, *args, role, email, name, generate_password, **options):
        if role not in Role.values:
            raise CommandError(f"Unknown role {role!r}: choose one of {', '.join(Role.values)}.")
        try:
            validate_email(email)
        except ValidationError as exc:
            raise CommandError(f"{email!r} is not a valid email address.") from exc
        if User.objects.filter(email__iexact=email).exists():
            raise CommandError(f"A user with the email {email} already exists.")
        if generate_password or not sys.stdin.isatty():
            password = secrets.token_urlsafe(15)
            printed = True
        else:
            password = self._prompt_password()
            printed = False
        try:
            user = user_create(email=email, role=role, password=password, display_name=name)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"Created {user.role} {user.email} (id {user.pk})."))
        if printed:
            self.stdout.write(f"Password: {password}")
        if role != Role.PATIENT:
            self.stdout.write("They must enrol an authenticator app at their first sign-in.")

    def _prompt_password(self) -> str:
        for _ in range(3):
            first = getpass.getpass("Password: ")
            if len(first) < 10:
                self.stderr.write("Use at least 10 characters.")
                continue
            if first == getpass.getpass("Password (again): "):
                return first
            self.stderr.write("The two passwords differ.")
        raise CommandError("No password was set.")
