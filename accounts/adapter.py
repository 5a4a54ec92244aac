from allauth.account.adapter import DefaultAccountAdapter

from accounts.models import Role


class AccountAdapter(DefaultAccountAdapter):
    """Public sign-up only ever makes patients; other roles are created by staff."""

    def save_user(self, request, user, form, commit=True):
        user.role = Role.PATIENT
        user.is_staff = False
        user.is_superuser = False
        return super().save_user(request, user, form, commit=commit)
