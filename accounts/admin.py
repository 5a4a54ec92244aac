"""Admin for accounts. Staff (the "Staff" group, accounts/staff_access.py) create and manage
clinicians, researchers and patients here; superusers and other staff accounts are managed by
superusers only, so that a staff user can neither take over nor promote an account above theirs.
"""

from __future__ import annotations

from axes.admin import AccessAttemptAdmin as AxesAccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as BaseUserChangeForm
from django.core.exceptions import PermissionDenied

from accounts import services
from accounts.models import ApiToken, Role, User


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "role", "display_name")


class UserChangeForm(BaseUserChangeForm):
    # The base form shows the password read-only (a hash summary and a link to the password
    # page): a plain ModelForm would show the hash as an editable, required text field.
    class Meta:
        model = User
        fields = ("email", "password", "display_name", "role", "time_zone", "is_active")


def manages_only_lower_roles(request) -> bool:
    """A staff user who is not a superuser may not touch superusers or other staff accounts."""
    return not request.user.is_superuser


def is_protected_from(request, obj: User | None) -> bool:
    if obj is None or not manages_only_lower_roles(request):
        return False
    if obj.is_superuser:
        return True
    return obj.role == Role.STAFF and obj.pk != request.user.pk


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Staff create clinicians and researchers here (or with `manage.py createuser`)."""

    add_form = UserCreationForm
    form = UserChangeForm
    ordering = ("email",)
    list_display = ("email", "role", "is_active", "is_superuser", "date_joined")
    list_filter = ("role", "is_active")
    search_fields = ("email", "display_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("display_name", "role", "time_zone")}),
        (
            "Status",
            {"fields": ("is_active", "is_staff", "is_superuser", "date_joined", "last_login")},
        ),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "role", "display_name", "password1", "password2"),
            },
        ),
    )
    # Superusers are made with `manage.py createsuperuser`, never promoted here.
    readonly_fields = ("date_joined", "last_login", "is_staff", "is_superuser")

    def has_change_permission(self, request, obj=None) -> bool:
        # Without change permission on a superuser the change page is read-only, and its
        # password page, a POST to either, and any bulk action on it answer 403.
        if is_protected_from(request, obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if is_protected_from(request, obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if is_protected_from(request, obj):
            # Read-only view: no password summary, nor a "Reset password" button that would 403.
            first = dict(fieldsets[0][1], fields=("email",))
            fieldsets = ((fieldsets[0][0], first), *fieldsets[1:])
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and manages_only_lower_roles(request):
            # A role is chosen when the account is made: turning a patient into a researcher, or
            # anyone into staff, would hand out access, so only a superuser changes it.
            fields += ("role",)
            if obj.pk == request.user.pk:
                fields += ("is_active",)  # nobody switches themselves off
        return fields

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role" and manages_only_lower_roles(request):
            # Only superusers make staff accounts (staff accounts open the admin).
            kwargs["choices"] = [c for c in Role.choices if c[0] != Role.STAFF]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        promotes = obj.role == Role.STAFF or obj.is_superuser
        if manages_only_lower_roles(request) and obj.pk != request.user.pk and promotes:
            # The form already refuses the staff role; this guards against any other path.
            raise PermissionDenied("Only a superuser can create or change staff accounts.")
        obj.is_staff = obj.role == Role.STAFF
        super().save_model(request, obj, form, change)
        services.admin_user_saved(user=obj, created=not change)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "created_at", "expires_at", "otp_verified", "revoked_at")
    readonly_fields = ("user", "key_hash", "created_at", "expires_at", "otp_verified")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and is_protected_from(request, obj.user):
            return False
        return super().has_change_permission(request, obj)


# django-axes registers its own admin; staff reset a lockout by deleting the access attempt. A
# superuser's lockout is reset by a superuser only, so that staff cannot lift the limit on
# guessing a superuser's password.
def _names_a_superuser(attempt: AccessAttempt) -> bool:
    return User.objects.filter(email__iexact=attempt.username or "", is_superuser=True).exists()


class AccessAttemptAdmin(AxesAccessAttemptAdmin):
    """Deleting an attempt resets the lockout: axes' record and the progressive locks that
    accounts.lockout keeps in the shared cache, which would otherwise outlive the record."""

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and manages_only_lower_roles(request) and _names_a_superuser(obj):
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        _unlock([obj.username])

    def delete_queryset(self, request, queryset) -> None:
        names = list(queryset.values_list("username", flat=True))
        super().delete_queryset(request, queryset)
        _unlock(names)


def _unlock(usernames) -> None:
    from accounts import lockout

    for name in {n for n in usernames if n}:
        lockout.account_unlock(account=name)


if admin.site.is_registered(AccessAttempt):  # AXES_ENABLE_ADMIN may switch axes' admin off
    admin.site.unregister(AccessAttempt)
    admin.site.register(AccessAttempt, AccessAttemptAdmin)
