"""Staff configure destinations and register Bulk Data backend clients here; runs are
read-only (the state machine owns them)."""

from __future__ import annotations

import secrets

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from registry_export import services
from registry_export.models import BulkClient, Destination, ExportRun


@admin.register(Destination)
class DestinationAdmin(admin.ModelAdmin):
    list_display = ("name", "consent_scope", "registry", "mode", "format_fhir", "format_redcap")
    list_filter = ("consent_scope", "mode", "is_active")
    filter_horizontal = ("researchers",)
    fields = (
        "name",
        "description",
        ("format_fhir", "format_redcap"),
        "consent_scope",
        "registry",
        "mode",
        "schedule",
        "researchers",
        "partition_size",
        "is_active",
    )

    def save_model(self, request, obj, form, change):
        if not change:
            # The pseudonym secret is made here, once, and never shown or edited.
            services.destination_init_secret(destination=obj)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.destination_schedule_sync(destination=form.instance)


@admin.register(ExportRun)
class ExportRunAdmin(admin.ModelAdmin):
    list_display = ("pk", "destination", "status", "period_end", "patients_total", "finished_at")
    list_filter = ("status", "destination")
    readonly_fields = [f.name for f in ExportRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class BulkClientAddForm(forms.ModelForm):
    """Registering a backend client from the staff pages, as `manage.py export_client` does."""

    public_key = forms.CharField(
        widget=forms.Textarea,
        help_text="The client's public key: a JWKS, a JWK, or a PEM (RSA, or EC P-384).",
    )

    class Meta:
        model = BulkClient
        fields = ("name", "destination")

    def clean_public_key(self):
        from registry_export.bulk.auth import public_jwks_from

        try:
            return public_jwks_from(self.cleaned_data["public_key"].encode())
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc


@admin.register(BulkClient)
class BulkClientAdmin(admin.ModelAdmin):
    list_display = ("name", "destination", "client_id", "is_active", "created_at")
    list_filter = ("destination", "is_active")
    readonly_fields = ("client_id", "jwks", "created_at")

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = BulkClientAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "destination", "public_key")
        return ("name", "destination", "client_id", "jwks", "is_active", "created_at")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("destination", "client_id", "jwks", "created_at")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.client_id = secrets.token_urlsafe(24)
            obj.jwks = form.cleaned_data["public_key"]
        super().save_model(request, obj, form, change)
