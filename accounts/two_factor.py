"""Who must pass two-factor, and whether this request has."""

from __future__ import annotations

from django.conf import settings
from django_otp import user_has_device


def role_requires_two_factor(user) -> bool:
    return getattr(user, "role", None) in settings.TWO_FACTOR_REQUIRED_ROLES


def needs_enrolment(user) -> bool:
    """A role that must use two-factor but has no confirmed device yet."""
    return role_requires_two_factor(user) and not user_has_device(user, confirmed=True)


def needs_verification(user) -> bool:
    """Anyone with a confirmed device (or whose role requires one) must verify each session."""
    if not user.is_authenticated:
        return False
    if role_requires_two_factor(user) or user_has_device(user, confirmed=True):
        return not user.is_verified()
    return False
