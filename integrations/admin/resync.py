"""The campaign list's "Re-sync selected campaigns": every send of the campaign is due in
the next run, including sends from before sync was enabled (historical campaigns). First a
confirmation page with, per portal, the API calls the run will make (``salesforce.estimate``),
the org's remaining daily requests and the portal's cap. Also ``manage.py salesforce resync``."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from engagement.admin import campaign_action_register

from ..models import SalesforceConnection
from ..salesforce import estimate, support
from .confirm import confirmed


@campaign_action_register
@admin.action(description="Re-sync selected campaigns", permissions=["change"])
def resync_campaigns(modeladmin, request, queryset):
    campaigns = list(queryset.select_related("portal").order_by("portal__slug", "name"))
    if not confirmed(request):
        return TemplateResponse(request, "admin/integrations/resync_confirm.html", {
            **modeladmin.admin_site.each_context(request),
            "title": "Re-sync campaigns to Salesforce?",
            "opts": modeladmin.model._meta,
            "campaigns": campaigns,
            "estimates": resync_estimates(campaigns),
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


def resync_estimates(campaigns) -> list:
    """One estimate per portal of the selected campaigns, in the campaigns' order."""
    by_portal: dict = {}
    for c in campaigns:
        by_portal.setdefault(c.portal_id, []).append(c)
    conns = {c.portal_id: c for c in SalesforceConnection.objects.filter(portal_id__in=by_portal).select_related("portal")}
    estimates = []
    for portal_id, cs in by_portal.items():
        est = estimate.resync_estimate(connection=conns.get(portal_id), campaigns=cs)
        if est.portal is None:
            est.portal = cs[0].portal
        estimates.append(est)
    return estimates
