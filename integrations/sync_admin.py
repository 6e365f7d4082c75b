"""Django admin for the sync (support): runs, per-send records, and the support actions.

- On Salesforce connections: "Enable sync" / "Pause sync" (also ``manage.py salesforce
  enable|pause SLUG``). Connecting and enabling sync are separate steps.
- On campaigns: "Re-sync selected campaigns" (also ``manage.py salesforce resync SLUG
  --campaign ID``): every send of the campaign is due in the next run, including sends from
  before sync was enabled (historical campaigns).
"""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from engagement.models import Campaign

from .models import SalesforceConnection, SalesforceRecord, SyncRun
from .salesforce import support


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
        from django.utils import timezone

        n = queryset.update(resync_requested_at=timezone.now())
        self.message_user(request, f"{n} send(s) will be re-synced in the next run.", messages.SUCCESS)


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


@admin.action(description="Re-sync selected campaigns")
def resync_campaigns(modeladmin, request, queryset):
    """First an intermediate page (issue 6): per portal, the estimated API calls of the
    re-sync (sObject Collections or Bulk API 2.0, per SALESFORCE_BULK_THRESHOLD), the org's
    remaining daily requests and the portal's cap; only "Yes, re-sync" marks the sends due."""
    from .salesforce import budget

    campaigns = list(queryset.select_related("portal").order_by("portal__slug", "name"))
    if request.POST.get("confirm") != "yes":
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
        return TemplateResponse(request, "admin/integrations/resync_confirm.html", {
            **modeladmin.admin_site.each_context(request),
            "title": "Re-sync campaigns to Salesforce?",
            "opts": modeladmin.model._meta,
            "campaigns": campaigns,
            "estimates": estimates,
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


def _add_actions(model, *actions):
    """Add actions to the admin another app registered (or register a minimal one)."""
    model_admin = admin.site._registry.get(model)
    if model_admin is None:
        admin.site.register(model, type(f"{model.__name__}SyncAdmin", (admin.ModelAdmin,), {}))
        model_admin = admin.site._registry[model]
    model_admin.actions = [*(model_admin.actions or []), *actions]


_add_actions(SalesforceConnection, enable_sync, pause_sync)
_add_actions(Campaign, resync_campaigns)
