"""Staff configure destinations here; runs are read-only (the state machine owns them)."""

from __future__ import annotations

from django.contrib import admin

from registry_export import services
from registry_export.models import Destination, ExportRun


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
