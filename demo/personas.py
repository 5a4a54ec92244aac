"""The demo personas and the synthetic-patient generator used by seed_demo."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role, User
from accounts.services import (
    profile_update,
    staff_group_membership_sync,
    totp_secret_base32,
    user_create,
)

DEMO_USERS = [
    ("patient@example.org", Role.PATIENT, "Alice (demo patient)"),
    ("clinician@example.org", Role.CLINICIAN, "Dr Carol (demo clinician)"),
    ("researcher@example.org", Role.RESEARCHER, "Rita (demo researcher)"),
    ("staff@example.org", Role.STAFF, "Sam (demo staff)"),
]


@dataclass(frozen=True)
class DemoLogin:
    """What to print for one demo user: the password and TOTP secret only when just made."""

    role: str
    email: str
    password: str | None
    totp_secret: str | None


def ensure_demo_users(*, password_factory: Callable[[], str]) -> list[DemoLogin]:
    """Make the demo users that are missing. A user who exists keeps their password and second
    factor: someone may have changed them, and a re-run (e.g. `make run`, or `--patients N`)
    must not lock them out or hand their account to whoever reads the output."""
    logins = []
    for email, role, name in DEMO_USERS:
        user = User.objects.filter(email=email).first()
        password = None
        if user is None:
            password = password_factory()
            user = user_create(email=email, role=role, password=password, display_name=name)
            if role == Role.PATIENT:
                profile_update(user=user, birth_year=1969)
        else:
            EmailAddress.objects.get_or_create(
                user=user, email=email, defaults={"verified": True, "primary": True}
            )
            staff_group_membership_sync(user=user)
        secret = None
        if role != Role.PATIENT and not user_has_device(user, confirmed=True):
            device = TOTPDevice.objects.create(user=user, name="Demo authenticator", confirmed=True)
            secret = totp_secret_base32(device)
        logins.append(DemoLogin(role=role, email=email, password=password, totp_secret=secret))
    # The demo patient gets ~120 days of diary (once) so that the pages look lived in.
    from demo.synthetic import ensure_demo_diary

    ensure_demo_diary(patient=User.objects.get(email=DEMO_USERS[0][0]), days=120)
    _ensure_demo_sharing()
    return logins


def _ensure_demo_sharing() -> None:
    """The demo clinician is verified by the demo staff user, and the demo patient shares her
    diary with them (once), so the clinician's pages have someone to show."""
    from consent import selectors, services

    patient, clinician, _, staff = (User.objects.get(email=u[0]) for u in DEMO_USERS)
    services.clinician_verify(clinician=clinician, by=staff)
    if not selectors.grants_for_patient(patient=patient).filter(clinician=clinician).exists():
        services.grant_create(
            patient=patient,
            clinician_email=clinician.email,
            scopes=["diary", "medicines", "questionnaires", "imaging"],
        )


def seed_synthetic_patients(*, count: int, days: int, seed: int) -> int:
    """Synthetic patients with diaries; the diary app provides the generator."""
    from demo.synthetic import generate_patients

    return generate_patients(count=count, days=days, seed=seed)
