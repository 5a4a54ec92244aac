"""Admin: staff see which model bundles the site has used and how their results stand.

Read-only, and only counts: results themselves (grades, images) are patient data and are seen by
clinicians with a sharing grant, never listed here.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html

from imaging import bundles as bundles_mod
from imaging.inference import bundle_record
from imaging.models import Bundle, ResultStatus


@admin.register(Bundle)
class BundleAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "version",
        "role",
        "on_disk",
        "results_scored",
        "results_needs_review",
        "results_waiting",
        "results_failed",
        "first_seen",
        "card",
    )
    list_filter = ("role", "name")
    fields = ("name", "version", "task", "role", "first_seen", "metadata")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        by_status = {
            f"n_{status}": Count("result", filter=Q(result__status=status))
            for status in ResultStatus.values
        }
        return super().get_queryset(request).annotate(**by_status)

    def get_changelist_instance(self, request):
        # One look at the disk per page, shared by the rows. A bundle installed but not yet used
        # is recorded as seen (idempotent), so the list shows it before its first result.
        found, errors = bundles_mod.discover()
        for bundle in found:
            bundle_record(bundle=bundle)
        changelist = super().get_changelist_instance(request)
        on_disk = {b.name: b.version for b in found}
        for obj in changelist.result_list:
            obj.disk_version = on_disk.get(obj.name)
        for error in errors:
            self.message_user(request, f"Broken bundle folder: {error}", messages.WARNING)
        return changelist

    @admin.display(description="On disk now")
    def on_disk(self, obj) -> str:
        version = getattr(obj, "disk_version", None)
        if version is None:
            return "not installed"
        return "this version" if version == obj.version else f"version {version}"

    @admin.display(description="Scored")
    def results_scored(self, obj) -> int:
        return obj.n_scored

    @admin.display(description="Needs manual review")
    def results_needs_review(self, obj) -> int:
        return obj.n_needs_review

    @admin.display(description="Queued or running")
    def results_waiting(self, obj) -> int:
        return obj.n_queued + obj.n_running

    @admin.display(description="Failed")
    def results_failed(self, obj) -> int:
        return obj.n_failed

    @admin.display(description="Model card")
    def card(self, obj) -> str:
        url = reverse("imaging:bundle_card", args=[obj.name])
        return format_html('<a href="{}">Model card of {}</a>', url, obj.name)
