from __future__ import annotations

from django_otp import user_has_device
from rest_framework.permissions import BasePermission

from accounts.models import ApiToken
from accounts.two_factor import role_requires_two_factor


class TwoFactorSatisfied(BasePermission):
    """Roles that need two-factor may use the API only from a verified session or token."""

    message = (
        "Two-factor authentication is required for this account: enrol a device at "
        "/accounts/2fa/enrol/ and obtain a token with an OTP code, or verify your session."
    )

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return True  # IsAuthenticated answers for anonymous users.
        if isinstance(request.auth, ApiToken):
            return request.auth.otp_verified or not role_requires_two_factor(user)
        django_user = request._request.user
        verified = getattr(django_user, "is_verified", lambda: False)()
        if role_requires_two_factor(user):
            return verified
        return verified or not user_has_device(user, confirmed=True)


class IsPatient(BasePermission):
    message = "Only patients can use this endpoint."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_patient)
