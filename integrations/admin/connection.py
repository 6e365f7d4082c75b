"""The Salesforce connections: the list, and each portal's integration at a glance.

The change page is read-only: what support may change goes through the actions (each with
its confirmation page), offered as buttons on the page. Tokens are never shown, not even
encrypted: their columns are in no fieldset and no list.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from ..models import SalesforceConnection
from ..salesforce import budget, overview
from .actions import SUPPORT_ACTIONS


@admin.register(SalesforceConnection)
class SalesforceConnectionAdmin(admin.ModelAdmin):
    change_form_template = "admin/integrations/salesforceconnection/change_form.html"
    list_display = ("portal", "status", "environment", "org_id", "username", "sync_enabled", "sync_changed_at",
                    "api_cap", "error_kind", "last_success_at")
    list_filter = ("status", "environment", "sync_enabled", "error_kind")
    search_fields = ("portal__name", "portal__slug", "org_id", "username")
    list_select_related = ("portal",)
    actions = SUPPORT_ACTIONS
    fieldsets = (
        ("Connection", {"fields": ("portal", "status", "has_tokens", "environment", "login_url", "instance_url", "org_id",
                                   "previous_org_id", "org_changed_at", "user_id", "username", "display_name",
                                   "connected_at", "connected_by")}),
        ("Sync (support)", {"fields": ("sync_enabled", "sync_enabled_at", "sync_paused_at", "sync_changed_by",
                                       "api_cap_percent")}),
        ("Custom contact object (support)", {
            "description": "The ThankView__c lookup field, the object it points to, and that object's email field.",
            "fields": ("contact_lookup_field", "contact_object", "contact_email_field")}),
        ("Health", {"fields": ("error_kind", "error_code", "error_message", "error_detail", "error_since",
                               "error_notified_at", "last_success_at", "last_checked_at", "api_usage_used",
                               "api_usage_max", "api_limits", "api_limits_at")}),
        ("Schema", {"classes": ("collapse",), "fields": ("schema_cache", "updated_at")}),
    )

    def get_readonly_fields(self, request, obj=None):
        return [f for _, opts in self.fieldsets for f in opts["fields"]]

    def has_add_permission(self, request):
        return False  # connections are made by portal admins through OAuth

    def has_delete_permission(self, request, obj=None):
        return False  # "Disconnect" revokes the token first; a deleted row would lose the history

    @admin.display(boolean=True, description="Tokens stored")
    def has_tokens(self, obj):
        return obj.has_tokens

    @admin.display(description="Sync changed", ordering="sync_paused_at")
    def sync_changed_at(self, obj):
        return overview.sync_state(obj)

    @admin.display(description="API cap")
    def api_cap(self, obj):
        cap = budget.portal_cap(obj)
        if cap.calls is None:
            return f"{cap.percent}%"
        return format_html("{}% = {} calls/day<br>{} used in 24 h", cap.percent, f"{cap.calls:,}", f"{cap.used_24h:,}")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False,
                         "show_save_and_add_another": False, "show_delete": False}
        obj = self.get_object(request, object_id)
        if obj is not None:
            extra_context["overview"] = overview.portal_overview(obj)
            extra_context["support_actions"] = [(a.__name__, a.short_description.rstrip("…")) for a in SUPPORT_ACTIONS]
        return super().change_view(request, object_id, form_url, extra_context)
