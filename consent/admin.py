"""Admin: staff publish consent documents and verify clinicians; the logs are read-only."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from consent import services
from consent.models import (
    AccessLogEvent,
    ClinicianProfile,
    ConsentDocument,
    ConsentEvent,
    Registry,
    SharingGrant,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable by staff, never added, edited or deleted here (append-only records)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        return {}


@admin.register(Registry)
class RegistryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "website"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(ConsentDocument)
class ConsentDocumentAdmin(admin.ModelAdmin):
    list_display = ["kind", "registry", "version", "title", "published_at", "published_by"]
    list_filter = ["kind", "registry"]
    readonly_fields = ["created_at", "published_at", "published_by"]
    actions = ["publish"]

    def get_readonly_fields(self, request, obj=None):
        # A published text is what patients agreed to: it is never changed afterwards.
        if obj is not None and obj.is_published:
            return [f.name for f in self.model._meta.fields]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return obj is None or not obj.is_published

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Publish the selected drafts (patients will be asked to review)")
    def publish(self, request, queryset):
        for document in queryset.order_by("version"):
            try:
                services.consent_document_publish(document=document, by=request.user)
            except ValidationError as exc:
                self.message_user(request, f"{document}: {' '.join(exc.messages)}", messages.ERROR)
            else:
                self.message_user(request, f"Published {document}.", messages.SUCCESS)


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "patient_id", "scope", "registry", "action", "via", "document"]
    list_filter = ["scope", "action", "via"]


@admin.register(ClinicianProfile)
class ClinicianProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "professional_register", "registration_number", "verified_at"]
    list_filter = ["verified_at"]
    search_fields = ["user__email", "registration_number"]
    readonly_fields = ["verified_at", "verified_by"]
    raw_id_fields = ["user"]
    actions = ["verify"]

    @admin.action(description="Mark the selected clinicians as verified")
    def verify(self, request, queryset):
        for profile in queryset.select_related("user"):
            try:
                services.clinician_verify(clinician=profile.user, by=request.user)
            except ValidationError as exc:
                self.message_user(
                    request, f"{profile.user}: {' '.join(exc.messages)}", messages.ERROR
                )
            else:
                self.message_user(request, f"Verified {profile.user}.", messages.SUCCESS)


@admin.register(SharingGrant)
class SharingGrantAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "patient_id",
        "clinician_id",
        "status",
        "starts_at",
        "ends_at",
        "revoked_at",
    ]
    list_filter = ["status"]
    exclude = ["invitation_token_hash"]


@admin.register(AccessLogEvent)
class AccessLogEventAdmin(ReadOnlyAdmin):
    list_display = [
        "occurred_at",
        "actor_id",
        "actor_role",
        "patient_id",
        "kind",
        "what",
        "outcome",
    ]
    list_filter = ["outcome", "kind", "actor_role"]
    search_fields = ["request_id", "what"]
