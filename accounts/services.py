"""Writes for accounts: users, API tokens and two-factor devices."""

from __future__ import annotations

import base64
import io
import logging
import secrets

import qrcode
import qrcode.image.svg
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import lockout
from accounts.models import ApiToken, Role, User
from accounts.profile import profile_problems
from accounts.staff_access import STAFF_GROUP_NAME, staff_group_sync

logger = logging.getLogger(__name__)

BACKUP_CODE_COUNT = 10


@transaction.atomic
def user_create(
    *, email: str, role: str, password: str | None, display_name: str = "", verified: bool = True
) -> User:
    """Create a user of any role (staff and the createuser command use this)."""
    if role not in Role.values:
        raise ValueError(f"Unknown role {role!r}: choose one of {', '.join(Role.values)}.")
    user = User.objects.create_user(
        email=email,
        password=password,
        role=role,
        display_name=display_name,
        is_staff=role == Role.STAFF,
    )
    if verified:
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    staff_group_membership_sync(user=user)
    return user


def password_setup_send(*, request, user: User) -> None:
    """E-mail `user` a link to choose their password (allauth's reset flow): staff who create an
    account never know its password."""
    from allauth.account.forms import ResetPasswordForm

    form = ResetPasswordForm(data={"email": user.email})
    if form.is_valid():
        form.save(request)


@transaction.atomic
def admin_user_saved(*, user: User, created: bool) -> None:
    """After the admin saves a user: group membership follows the role, and an address typed
    in by staff counts as verified (staff checked it when creating the account)."""
    if created:
        EmailAddress.objects.get_or_create(
            user=user, email=user.email, defaults={"verified": True, "primary": True}
        )
    staff_group_membership_sync(user=user)


def staff_group() -> Group:
    """The "Staff" group made by accounts migration 0003 (re-made with its permissions if a test
    database was flushed since)."""
    group = Group.objects.filter(name=STAFF_GROUP_NAME).first()
    if group is None:
        group = staff_group_sync(group_model=Group, permission_model=Permission)
    return group


def staff_group_membership_sync(*, user: User) -> None:
    """Staff-role users who are not superusers are in the Staff group; nobody else is.

    The group, not the superuser flag, is what lets staff use the admin.
    """
    group = staff_group()
    if user.role == Role.STAFF and user.is_staff and not user.is_superuser:
        user.groups.add(group)
    else:
        user.groups.remove(group)


@transaction.atomic
def api_token_issue(*, user: User, otp_verified: bool) -> tuple[ApiToken, str]:
    """Issue a token; the raw key is returned once and only its hash is kept."""
    raw = ApiToken.new_raw_key()
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        key_hash=ApiToken.hash(raw),
        created_at=now,
        expires_at=now + settings.API_TOKEN_TTL,
        otp_verified=otp_verified,
    )
    return token, raw


def api_token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_tokens_revoke_all(*, user: User, reason: str) -> int:
    """Revoke every live API token of the user (a new password ends every old credential)."""
    count = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    logger.info("api tokens revoked user=%s count=%d reason=%s", user.pk, count, reason)
    return count


@transaction.atomic
def password_set(*, user: User, password: str, request=None) -> None:
    """A new password (reset by email, change, or set): every API token issued before it is
    revoked, and every sign-in lock of the account ends (the reset email is the way back in for
    a locked-out person; `request`'s address becomes one the account signs in from).
    Sessions need nothing here: Django ties each session to the password hash, so every other
    session ends at its next request (the changing one is kept by allauth)."""
    user.set_password(password)
    user.save()
    api_tokens_revoke_all(user=user, reason="password")
    lockout.account_unlock(account=user.email, request=request)


def totp_device_start(*, user: User) -> TOTPDevice:
    """An unconfirmed TOTP device; any earlier unconfirmed one is replaced."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


@transaction.atomic
def totp_device_confirm(*, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm the device with a first code; returns fresh backup codes, or None if wrong."""
    if not device.verify_token(token):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return backup_codes_regenerate(user=device.user)


@transaction.atomic
def backup_codes_regenerate(*, user: User) -> list[str]:
    """Replace the user's one-time backup codes; each works once (django-otp deletes it)."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name="Backup codes", defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [f"{secrets.randbelow(10**8):08d}" for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def two_factor_disable(*, user: User) -> None:
    """Patients may turn two-factor off again; other roles may not."""
    if user.role != Role.PATIENT:
        raise PermissionError("Two-factor authentication is required for your role.")
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def otp_failure_record(*, request, user: User) -> None:
    """Count a wrong code as a failed login so that django-axes locks the account out."""
    user_login_failed.send(sender=__name__, credentials={"email": user.email}, request=request)


def totp_qr_data_uri(device: TOTPDevice) -> str:
    """The provisioning URI as an SVG QR code in a data: URI (allowed by the CSP's img-src)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def totp_secret_base32(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode().rstrip("=")


_UNCHANGED = object()


@transaction.atomic
def profile_update(
    *,
    user: User,
    display_name=_UNCHANGED,
    time_zone=_UNCHANGED,
    birth_year=_UNCHANGED,
    text_size=_UNCHANGED,
    language=_UNCHANGED,
) -> User:
    """Change a person's own details; raises ValidationError (by field) and stores nothing."""
    changes = {
        name: value
        for name, value in (
            ("display_name", display_name),
            ("time_zone", time_zone),
            ("birth_year", birth_year),
            ("text_size", text_size),
            ("language", language),
        )
        if value is not _UNCHANGED
    }
    problems = profile_problems(user=user, **changes)
    if problems:
        raise ValidationError({field: [message] for field, message in problems.items()})
    locked = User.objects.select_for_update().get(pk=user.pk)
    for name, value in changes.items():
        setattr(locked, name, value)
        setattr(user, name, value)
    locked.save(update_fields=list(changes))
    return user
