from email.utils import formataddr, parseaddr
from types import SimpleNamespace

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.conf import settings

from accounts.models import Role


def mail_site(request=None) -> SimpleNamespace:
    """What allauth's mail templates call `current_site`: our name and host, not the
    django.contrib.sites row (which says example.com)."""
    domain = settings.SITE_DOMAIN or (request.get_host() if request is not None else "")
    return SimpleNamespace(name=settings.SITE_NAME, domain=domain)


class AccountAdapter(DefaultAccountAdapter):
    """Public sign-up only ever makes patients; other roles are created by staff. Mails carry
    the site's name (settings.SITE_NAME) as subject prefix and sender name."""

    def save_user(self, request, user, form, commit=True):
        user.role = Role.PATIENT
        user.is_staff = False
        user.is_superuser = False
        return super().save_user(request, user, form, commit=commit)

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

    def send_mail(self, template_prefix, email, context):
        context = {**context, "current_site": mail_site(allauth_context.request)}
        return super().send_mail(template_prefix, email, context)
