from __future__ import annotations

import logging
import smtplib
from email.utils import formataddr, parseaddr
from types import SimpleNamespace

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.conf import settings
from django.contrib import messages

from accounts import services
from accounts.models import Role

logger = logging.getLogger(__name__)

MAIL_FAILED_ATTR = "mail_delivery_failed"
# Set by a view that shows the failure itself (the password reset form), so that the adapter
# does not add a second, flash-message copy of it.
MAIL_FAILURE_SHOWN_BY_VIEW_ATTR = "mail_failure_shown_by_view"
MAIL_UNAVAILABLE_MESSAGE = (
    "We could not send the email just now: our mail service is not answering. Nothing has "
    "changed on your account. Please try again in a few minutes."
)


def mail_failed(request) -> bool:
    return bool(getattr(request, MAIL_FAILED_ATTR, False))


def mail_site(request=None) -> SimpleNamespace:
    """What allauth's mail templates call `current_site`: our name and host, not the
    django.contrib.sites row (which says example.com)."""
    domain = settings.SITE_DOMAIN or (request.get_host() if request is not None else "")
    return SimpleNamespace(name=settings.SITE_NAME, domain=domain)


class AccountAdapter(DefaultAccountAdapter):
    """Public sign-up only ever makes patients; other roles are created by staff.

    Mails carry the site's name (settings.SITE_NAME) as subject prefix and sender name. Mail
    (password reset, address confirmation) that cannot be sent is logged and told to the
    person calmly; it never becomes a server error. The log line names the template and the
    kind of failure, never the address.
    """

    def save_user(self, request, user, form, commit=True):
        user.role = Role.PATIENT
        user.is_staff = False
        user.is_superuser = False
        return super().save_user(request, user, form, commit=commit)

    def set_password(self, user, password: str) -> None:
        """Every way allauth sets a password (reset by email, change, set) comes here."""
        services.password_set(user=user, password=password, request=allauth_context.request)

    def add_message(self, request, level, message_template=None, message_context=None,
                    extra_tags="", message=None):  # fmt: skip
        # A password alone does not sign in someone who must pass two-factor: their "signed in"
        # message waits until the code is accepted (accounts.views.two_factor_verify).
        user = (message_context or {}).get("user")
        if message_template == "account/messages/logged_in.txt" and user is not None:
            from django_otp import user_has_device

            from accounts.two_factor import role_requires_two_factor

            if role_requires_two_factor(user) or user_has_device(user, confirmed=True):
                return
        super().add_message(
            request, level, message_template=message_template, message_context=message_context,
            extra_tags=extra_tags, message=message,
        )  # fmt: skip

    def format_email_subject(self, subject):
        return f"[{settings.SITE_NAME}] {subject}"

    def get_from_email(self):
        name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
        return formataddr((name or settings.SITE_NAME, address))

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        context = {**context, "current_site": mail_site(allauth_context.request)}
        try:
            super().send_mail(template_prefix, email, context)
        except (smtplib.SMTPException, OSError) as exc:
            logger.error(
                "mail not sent template=%s reason=%s errno=%s",
                template_prefix.rsplit("/", 1)[-1],
                type(exc).__name__,
                getattr(exc, "errno", None) or getattr(exc, "smtp_code", None),
            )
            request = allauth_context.request
            if request is None:
                raise
            setattr(request, MAIL_FAILED_ATTR, True)
            if not getattr(request, MAIL_FAILURE_SHOWN_BY_VIEW_ATTR, False):
                messages.warning(request, MAIL_UNAVAILABLE_MESSAGE)
