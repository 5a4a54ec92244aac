"""Receivers for django's own signals: failed sign-ins go to the access log.

DESIGN.md asks for no side effects in our own signals; these listen to Django's, which is the
only hook a failed login offers, and only call a service.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db.backends.signals import connection_created
from django.dispatch import receiver

from consent import services

# The PostgreSQL trigger on the access log refuses TRUNCATE unless this session setting is on.
# Only the test settings switch it on, for the test runner's flush between transactional tests;
# the application never truncates. UPDATE and DELETE are refused whatever it says.
TRUNCATE_GUC = "consent.allow_access_log_truncate"


@receiver(user_login_failed, dispatch_uid="consent_login_failed")
def record_failed_login(sender, credentials, request=None, **kwargs) -> None:
    services.login_failed_record(credentials=credentials or {}, request=request)


@receiver(connection_created, dispatch_uid="consent_test_truncate")
def allow_truncate_in_tests(sender, connection, **kwargs) -> None:
    if connection.vendor == "postgresql" and getattr(settings, "DJANGO_ENV", "") == "test":
        with connection.cursor() as cursor:
            cursor.execute(f"SET {TRUNCATE_GUC} = 'on'")  # noqa: S608 - a constant
