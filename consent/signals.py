"""Receivers for django's own signals: failed sign-ins go to the access log.

DESIGN.md asks for no side effects in our own signals; these listen to Django's, which is the
only hook a failed login offers, and only call a service.
"""

from __future__ import annotations

from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from consent import services


@receiver(user_login_failed, dispatch_uid="consent_login_failed")
def record_failed_login(sender, credentials, request=None, **kwargs) -> None:
    services.login_failed_record(credentials=credentials or {}, request=request)
