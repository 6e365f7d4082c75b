"""Django admin for support: connection health, the sync's runs and per-send records, and the
support actions. Tokens are never shown (their columns are excluded from every form).

- On Salesforce connections: "Enable sync" / "Pause sync" (also ``manage.py salesforce
  enable|pause SLUG``). Connecting and enabling sync are separate steps.
- On campaigns (registered into engagement's admin): "Re-sync selected campaigns" (also
  ``manage.py salesforce resync SLUG --campaign ID``): every send of the campaign is due in
  the next run, including sends from before sync was enabled (historical campaigns).
"""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils import timezone

from engagement.admin import campaign_action_register

from .models import FieldMapping, SalesforceConnection, SalesforceRecord, SyncRun
from .salesforce import budget, support


@admin.action(description="Enable sync")
def enable_sync(modeladmin, request, queryset):
    done = [c.portal.slug for c in queryset.select_related("portal") if support.sync_enable(connection=c)]
    modeladmin.message_user(
        request, f"Sync enabled for {', '.join(done)}." if done else "Sync was already enabled.", messages.SUCCESS
    )


@admin.action(description="Pause sync")
def pause_sync(modeladmin, request, queryset):
    done = [c.portal.slug for c in queryset.select_related("portal") if support.sync_pause(connection=c)]
    modeladmin.message_user(
        request, f"Sync paused for {', '.join(done)}." if done else "Sync was already paused.", messages.SUCCESS
    )


@admin.register(SalesforceConnection)
class SalesforceConnectionAdmin(admin.ModelAdmin):
    list_display = ("portal", "status", "environment", "org_id", "username", "sync_enabled", "error_kind", "error_since", "last_success_at")
    list_filter = ("status", "environment", "sync_enabled", "error_kind")
    search_fields = ("portal__name", "portal__slug", "org_id", "username")
    exclude = ("access_token_enc", "refresh_token_enc")
    actions = [enable_sync, pause_sync]
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


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = (
        "portal", "started_at", "finished_at", "outcome", "due", "created", "updated", "adopted",
        "unmatched", "failed", "api_calls", "trigger",
    )
    list_filter = ("outcome", "trigger", "portal")
    search_fields = ("portal__slug", "portal__name", "org_id", "error_code")
    date_hierarchy = "started_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SalesforceRecord)
class SalesforceRecordAdmin(admin.ModelAdmin):
    list_display = ("send", "portal", "org_id", "status", "record_id", "match_method", "error_code", "synced_at")
    list_filter = ("status", "match_method", "donor_id_invalid", "portal")
    search_fields = ("record_id", "contact_id", "lead_id", "send__contact__email", "org_id")
    raw_id_fields = ("send",)
    actions = ["request_resync"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Re-sync selected sends")
    def request_resync(self, request, queryset):
        n = queryset.update(resync_requested_at=timezone.now())
        self.message_user(request, f"{n} send(s) will be re-synced in the next run.", messages.SUCCESS)


@campaign_action_register
@admin.action(description="Re-sync selected campaigns")
def resync_campaigns(modeladmin, request, queryset):
    """First an intermediate page: per portal, the estimated API calls of the re-sync
    (sObject Collections or Bulk API 2.0, per SALESFORCE_BULK_THRESHOLD), the org's remaining
    daily requests and the portal's cap; only "Yes, re-sync" marks the sends due."""
    campaigns = list(queryset.select_related("portal").order_by("portal__slug", "name"))
    if request.POST.get("confirm") != "yes":
        return TemplateResponse(request, "admin/integrations/resync_confirm.html", {
            **modeladmin.admin_site.each_context(request),
            "title": "Re-sync campaigns to Salesforce?",
            "opts": modeladmin.model._meta,
            "campaigns": campaigns,
            "estimates": _resync_estimates(campaigns),
            "threshold": settings.SALESFORCE_BULK_THRESHOLD,
            "action_name": "resync_campaigns",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        })
    for campaign in campaigns:
        try:
            n = support.campaign_resync(campaign=campaign, requested_by=request.user)
        except ValueError as e:
            modeladmin.message_user(request, f"{campaign}: {e}", messages.ERROR)
            continue
        modeladmin.message_user(
            request, f"“{campaign}” ({campaign.portal.slug}): {n} send(s) will be re-synced in the next run.",
            messages.SUCCESS,
        )
    return None


def _resync_estimates(campaigns) -> list:
    """One estimate per portal of the selected campaigns, in the campaigns' order."""
    by_portal: dict = {}
    for c in campaigns:
        by_portal.setdefault(c.portal_id, []).append(c)
    conns = {c.portal_id: c for c in SalesforceConnection.objects.filter(portal_id__in=by_portal).select_related("portal")}
    estimates = []
    for portal_id, cs in by_portal.items():
        est = budget.resync_estimate(connection=conns.get(portal_id), campaigns=cs)
        if est.portal is None:
            est.portal = cs[0].portal
        estimates.append(est)
    return estimates
