"""What the sync did, for support: runs, per-send records, Bulk jobs, re-sync requests, the
support history, and the field mappings. The sync and the support services are the only
writers: everything here but the mappings is read-only."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone

from ..models import BulkJob, FieldMapping, ResyncRequest, SalesforceRecord, SupportEvent, SyncRun


class ReadOnlyAdmin(admin.ModelAdmin):
    """Every field shown, none editable, nothing added or deleted by hand."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(FieldMapping)
class FieldMappingAdmin(admin.ModelAdmin):
    list_display = ("portal", "target_field", "source", "constant_value", "enabled", "updated_at")
    list_filter = ("enabled", "source", "portal")
    search_fields = ("portal__slug", "portal__name", "target_field")
    readonly_fields = ("created_at", "updated_at")


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = (
        "portal", "started_at", "finished_at", "outcome", "due", "created", "updated", "adopted",
        "unmatched", "failed", "api_calls", "trigger",
    )
    list_filter = ("outcome", "trigger", "started_at", "portal")
    search_fields = ("portal__slug", "portal__name", "org_id", "error_code", "error_message")
    date_hierarchy = "started_at"
    list_select_related = ("portal",)


@admin.register(SalesforceRecord)
class SalesforceRecordAdmin(admin.ModelAdmin):
    list_display = ("send", "portal", "org_id", "status", "record_id", "match_method", "error_code", "synced_at")
    list_filter = ("status", "match_method", "donor_id_invalid", "synced_at", "portal")
    search_fields = ("record_id", "contact_id", "lead_id", "send__contact__email", "send__contact__donor_id", "org_id",
                     "send__campaign__name")
    raw_id_fields = ("send",)
    list_select_related = ("portal", "send")
    actions = ["request_resync"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Re-sync selected sends", permissions=["change"])
    def request_resync(self, request, queryset):
        n = queryset.update(resync_requested_at=timezone.now())
        self.message_user(request, f"{n} send(s) will be re-synced in the next run.", messages.SUCCESS)


@admin.register(BulkJob)
class BulkJobAdmin(ReadOnlyAdmin):
    list_display = ("job_id", "portal", "operation", "rows", "state", "processed", "failed", "settled", "created_at")
    list_filter = ("state", "operation", "settled", "portal")
    search_fields = ("job_id", "portal__slug", "org_id")
    list_select_related = ("portal",)


@admin.register(ResyncRequest)
class ResyncRequestAdmin(ReadOnlyAdmin):
    list_display = ("campaign", "portal", "requested_at", "requested_by", "total", "org_id")
    list_filter = ("requested_at", "portal")
    search_fields = ("campaign__name", "portal__slug", "requested_by__email")
    list_select_related = ("portal", "campaign", "requested_by")


@admin.register(SupportEvent)
class SupportEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "portal", "kind", "summary", "actor")
    list_filter = ("kind", "at", "portal")
    search_fields = ("summary", "portal__slug", "portal__name", "actor__email")
    date_hierarchy = "at"
    list_select_related = ("portal", "actor")
