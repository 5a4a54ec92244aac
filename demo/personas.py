"""The demo personas and the synthetic-patient generator used by seed_demo."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role, User
from accounts.services import profile_update, totp_secret_base32, user_create

DEMO_USERS = [
    ("patient@example.org", Role.PATIENT, "Alice (demo patient)"),
    ("clinician@example.org", Role.CLINICIAN, "Dr Carol (demo clinician)"),
    ("researcher@example.org", Role.RESEARCHER, "Rita (demo researcher)"),
    ("staff@example.org", Role.STAFF, "Sam (demo staff)"),
]


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str
    totp_secret: str | None


def ensure_demo_users(*, password_factory: Callable[[], str]) -> list[DemoLogin]:
    logins = []
    for email, role, name in DEMO_USERS:
        password = password_factory()
        user = User.objects.filter(email=email).first()
        if user is None:
            user = user_create(email=email, role=role, password=password, display_name=name)
            if role == Role.PATIENT:
                profile_update(user=user, birth_year=1969)
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
            EmailAddress.objects.get_or_create(
                user=user, email=email, defaults={"verified": True, "primary": True}
            )
        secret = None
        if role != Role.PATIENT:
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            if device is None:
                device = TOTPDevice.objects.create(
                    user=user, name="Demo authenticator", confirmed=True
                )
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
