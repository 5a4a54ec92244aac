from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm

from accounts.models import ApiToken, User


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "role", "display_name")


class UserChangeForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ("email", "display_name", "role", "time_zone", "is_active")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Staff create clinicians and researchers here (or with `manage.py createuser`)."""

    add_form = UserCreationForm
    form = UserChangeForm
    ordering = ("email",)
    list_display = ("email", "role", "is_active", "date_joined")
    list_filter = ("role", "is_active")
    search_fields = ("email", "display_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("display_name", "role", "time_zone")}),
        ("Status", {"fields": ("is_active", "is_staff", "date_joined", "last_login")}),
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
    readonly_fields = ("date_joined", "last_login", "is_staff")

    def save_model(self, request, obj, form, change):
        obj.is_staff = obj.role == "staff"
        super().save_model(request, obj, form, change)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "created_at", "expires_at", "otp_verified", "revoked_at")
    readonly_fields = ("user", "key_hash", "created_at", "expires_at", "otp_verified")

    def has_add_permission(self, request):
        return False
