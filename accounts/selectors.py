"""Reads for accounts."""

from __future__ import annotations

import uuid

from axes.handlers.proxy import AxesProxyHandler
from django_otp import devices_for_user, match_token
from django_otp.plugins.otp_static.models import StaticDevice

from accounts.models import User


def otp_device_matching(*, user: User, token: str):
    """The confirmed device (TOTP or a backup code) that accepts this code, or None.

    django-otp refuses a TOTP code at or before the last one used, so a code never works twice,
    and a backup code is deleted when it is used.
    """
    token = (token or "").strip().replace(" ", "")
    if not token.isdigit() or not 6 <= len(token) <= 8:
        return None
    return match_token(user, token)


def two_factor_enabled(*, user: User) -> bool:
    return any(not isinstance(d, StaticDevice) for d in devices_for_user(user, confirmed=True))


def backup_codes_left(*, user: User) -> int:
    device = StaticDevice.objects.filter(user=user, confirmed=True).first()
    return device.token_set.count() if device else 0


def login_locked_out(*, request, email: str) -> bool:
    return AxesProxyHandler.is_locked(request, credentials={"email": email})


def birth_years(*, patient_ids: list[int]) -> dict[int, int]:
    """Patient id -> year of birth, for the patients who gave one (a year only, never a date)."""
    rows = User.objects.filter(pk__in=patient_ids, birth_year__isnull=False)
    return dict(rows.values_list("pk", "birth_year"))


def user_pk(*, public_id: uuid.UUID) -> int | None:
    """The internal key of the person a URL or an API request names by public id, or None.

    URLs and API responses carry only `User.public_id` (issue 16); the integer key stays inside,
    for foreign keys and the access log. The caller's permission check decides what None means
    (the same 404 as someone the requester may not see)."""
    return User.objects.filter(public_id=public_id).values_list("pk", flat=True).first()
