"""Django admin for support: read connection health, enable/pause sync, set a custom
contact object. Tokens are never shown (their columns are excluded from every form)."""

from django.contrib import admin

from .models import FieldMapping, SalesforceConnection
from .salesforce import support


@admin.register(SalesforceConnection)
class SalesforceConnectionAdmin(admin.ModelAdmin):
    list_display = ("portal", "status", "environment", "org_id", "username", "sync_enabled", "error_kind", "error_since", "last_success_at")
    list_filter = ("status", "environment", "sync_enabled", "error_kind")
    search_fields = ("portal__name", "portal__slug", "org_id", "username")
    exclude = ("access_token_enc", "refresh_token_enc")
    readonly_fields = (
        "portal", "status", "environment", "login_url", "instance_url", "org_id", "previous_org_id", "org_changed_at",
        "user_id", "username", "display_name", "connected_at", "connected_by", "sync_enabled_at",
        "error_kind", "error_code", "error_message", "error_detail", "error_since", "error_notified_at",
        "last_success_at", "last_checked_at", "api_usage_used", "api_usage_max", "api_limits", "api_limits_at",
        "schema_cache", "updated_at",
        "has_tokens",
    )
    fieldsets = (
        ("Connection", {"fields": ("portal", "status", "has_tokens", "environment", "login_url", "instance_url", "org_id", "previous_org_id", "org_changed_at", "user_id", "username", "display_name", "connected_at", "connected_by")}),
        ("Sync (support)", {"fields": ("sync_enabled", "sync_enabled_at", "api_cap_percent")}),
        ("Custom contact object (support)", {"description": "The ThankView__c lookup field, the object it points to, and that object's email field.", "fields": ("contact_lookup_field", "contact_object", "contact_email_field")}),
        ("Health", {"fields": ("error_kind", "error_code", "error_message", "error_detail", "error_since", "error_notified_at", "last_success_at", "last_checked_at", "api_usage_used", "api_usage_max", "api_limits", "api_limits_at")}),
        ("Schema", {"classes": ("collapse",), "fields": ("schema_cache", "updated_at")}),
    )

    def has_add_permission(self, request):
        return False  # connections are made by portal admins through OAuth

    @admin.display(boolean=True, description="Tokens stored")
    def has_tokens(self, obj):
        return obj.has_tokens

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "sync_enabled" in form.changed_data:
            # The same services as the actions and ``manage.py salesforce`` (the first enable
            # fixes sync_enabled_at; see salesforce.support).
            (support.sync_enable if obj.sync_enabled else support.sync_pause)(connection=obj)


@admin.register(FieldMapping)
class FieldMappingAdmin(admin.ModelAdmin):
    list_display = ("portal", "target_field", "source", "constant_value", "enabled")
    list_filter = ("enabled", "source")
    search_fields = ("portal__slug", "target_field")


# Sync engine (issue 5): SyncRun / SalesforceRecord admin, enable/pause and re-sync actions.
from . import sync_admin  # noqa: E402,F401
