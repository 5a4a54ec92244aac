from __future__ import annotations

import logging

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts import lockout, selectors, services
from accounts.models import ApiToken
from accounts.two_factor import role_requires_two_factor

logger = logging.getLogger(__name__)


class TokenObtainInput(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})
    otp = serializers.CharField(required=False, allow_blank=True, max_length=10)


class TokenObtainOutput(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()
    otp_verified = serializers.BooleanField()


class TokenApi(APIView):
    """Obtain (POST) or revoke (DELETE) an API token."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    def get_permissions(self):
        if self.request.method == "POST":
            return [AllowAny()]
        return [IsAuthenticated()]

    def get_authenticators(self):
        if getattr(self, "request", None) is not None and self.request.method == "POST":
            return []
        return super().get_authenticators()

    @extend_schema(request=TokenObtainInput, responses={201: TokenObtainOutput})
    def post(self, request):
        data = TokenObtainInput(data=request.data)
        data.is_valid(raise_exception=True)
        email = data.validated_data["email"].lower()
        if selectors.login_locked_out(request=request._request, email=email):
            return Response(
                {"detail": lockout.LOCKED_MESSAGE},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
            )
        user = authenticate(request._request, email=email, password=data.validated_data["password"])
        if user is None:
            return Response(
                {"detail": "Email or password is not correct."},
                status=status.HTTP_401_UNAUTHORIZED,
            )
        otp_verified = False
        code = data.validated_data.get("otp", "")
        if selectors.two_factor_enabled(user=user) or role_requires_two_factor(user):
            if not code:
                return Response(
                    {"otp": ["A two-factor code is required for this account."]},
                    status=status.HTTP_400_BAD_REQUEST,
                )
            if selectors.otp_device_matching(user=user, token=code) is None:
                services.otp_failure_record(request=request._request, user=user)
                return Response(
                    {"otp": ["That code is not valid, or has already been used."]},
                    status=status.HTTP_401_UNAUTHORIZED,
                )
            otp_verified = True
        token, raw = services.api_token_issue(user=user, otp_verified=otp_verified)
        out = TokenObtainOutput(
            {"token": raw, "expires_at": token.expires_at, "otp_verified": token.otp_verified}
        )
        return Response(out.data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        if not isinstance(request.auth, ApiToken):
            return Response(
                {"detail": "Send the token to revoke in the Authorization header."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        services.api_token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProfileOutput(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    display_name = serializers.CharField()
    role = serializers.CharField()
    time_zone = serializers.CharField()
    birth_year = serializers.IntegerField(allow_null=True)
    text_size = serializers.IntegerField(help_text="Percent of the standard text size.")
    two_factor_enabled = serializers.BooleanField()


class ProfileInput(serializers.Serializer):
    display_name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    time_zone = serializers.CharField(max_length=64, required=False)
    birth_year = serializers.IntegerField(allow_null=True, required=False)
    text_size = serializers.IntegerField(required=False, help_text="100, 115, 130, 150, 175, 200")


class ProfileApi(APIView):
    """The signed-in user's own profile."""

    @extend_schema(responses={200: ProfileOutput})
    def get(self, request):
        return Response(self._out(request.user))

    @extend_schema(request=ProfileInput, responses={200: ProfileOutput})
    def patch(self, request):
        data = ProfileInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.profile_update(user=request.user, **data.validated_data)
        except ValidationError as exc:
            return Response(exc.message_dict, status=status.HTTP_400_BAD_REQUEST)
        return Response(self._out(request.user))

    @staticmethod
    def _out(user) -> dict:
        return ProfileOutput(
            {
                "id": user.public_id,
                "email": user.email,
                "display_name": user.display_name,
                "role": user.role,
                "time_zone": user.time_zone,
                "birth_year": user.birth_year,
                "text_size": user.text_size,
                "two_factor_enabled": selectors.two_factor_enabled(user=user),
            }
        ).data
