"""factory_boy factories and the personas named in DESIGN.md section 7."""

from __future__ import annotations

import factory
from allauth.account.models import EmailAddress
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role, User
from accounts.services import staff_group_membership_sync

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    display_name = factory.Faker("first_name")
    role = Role.PATIENT
    is_staff = factory.LazyAttribute(lambda o: o.role == Role.STAFF)

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])

    @factory.post_generation
    def verified_email(self, create, extracted, **kwargs):
        if create and extracted is not False:
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)

    @factory.post_generation
    def staff_group(self, create, extracted, **kwargs):
        # Staff get their admin rights from the Staff group, as services.user_create gives them.
        if create and self.role == Role.STAFF:
            staff_group_membership_sync(user=self)


class PatientFactory(UserFactory):
    role = Role.PATIENT


class ClinicianFactory(UserFactory):
    role = Role.CLINICIAN


class ResearcherFactory(UserFactory):
    role = Role.RESEARCHER


class StaffFactory(UserFactory):
    role = Role.STAFF


def confirmed_totp(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="test", confirmed=True)


def current_totp_code(device: TOTPDevice, *, offset_steps: int = 0) -> str:
    """The code an authenticator would show now (or `offset_steps` steps away)."""
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + offset_steps * device.step
    return f"{totp.token():0{device.digits}d}"
