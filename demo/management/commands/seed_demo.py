"""Demo data for the embedded mode and for benchmarks.

`seed_demo` (no options) makes one user of each role and prints their sign-in details; it may be
run again (with or without --patients): users that exist keep their passwords and second factors,
which are never reset or printed again. The demo app depends on every other app and nothing
depends on it.
"""

from __future__ import annotations

import secrets

from django.core.management.base import BaseCommand
from django.db import transaction

from demo import personas


class Command(BaseCommand):
    help = "Create demo users (and, with --patients, synthetic patients with diaries)."

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=0, help="synthetic patients to add")
        parser.add_argument("--days", type=int, default=90, help="days of diary per patient")
        parser.add_argument("--seed", type=int, default=1, help="random seed for synthetic data")
        parser.add_argument("--quiet", action="store_true", help="do not print the logins")

    def handle(self, *args, patients: int, days: int, seed: int, quiet: bool, **options):
        if patients < 0 or days < 0:
            self.stderr.write("--patients and --days must be zero or more.")
            raise SystemExit(2)
        with transaction.atomic():
            logins = personas.ensure_demo_users(password_factory=lambda: secrets.token_urlsafe(9))
        if not quiet:
            self._print_logins(logins)
        self._ensure_demo_export(quiet=quiet)
        if patients:
            created = personas.seed_synthetic_patients(count=patients, days=days, seed=seed)
            self.stdout.write(f"Added {created} synthetic patients with {days} days each.")

    def _ensure_demo_export(self, *, quiet: bool) -> None:
        """The demo researcher's destination with a finished run (made once, synchronously)."""
        from demo.exports import ensure_demo_export

        emails = {role: email for email, role, _ in personas.DEMO_USERS}
        run = ensure_demo_export(
            patient_email=emails["patient"], researcher_email=emails["researcher"]
        )
        if not quiet:
            self.stdout.write(
                f"Demo registry export: run {run.label} of {run.destination.name} "
                f"({run.get_status_display().lower()}, {run.patients_total} patient(s))."
            )

    def _print_logins(self, logins):
        self.stdout.write(
            self.style.SUCCESS("Demo sign-ins (http://127.0.0.1:8000/accounts/login/):")
        )
        for login in logins:
            if login.password:
                line = f"  {login.role:<10} {login.email:<28} password: {login.password}"
            else:
                line = f"  {login.role:<10} {login.email:<28} (exists: password unchanged)"
            if login.totp_secret:
                line += f"  TOTP secret: {login.totp_secret}"
            self.stdout.write(line)
        if any(login.totp_secret for login in logins):
            self.stdout.write(
                "Add the TOTP secret to an authenticator app (or run `oathtool --totp -b SECRET`)."
            )
        if not all(login.password for login in logins):
            self.stdout.write(
                "Existing users keep their password and second factor; "
                "`python manage.py changepassword EMAIL` sets a new password."
            )
