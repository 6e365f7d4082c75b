"""The sync health page: last and next run, totals, recent runs, the sends not synced and
why, API usage. Read-only, for every member; there is no "sync now" button anywhere (the
guide: "There is no manual “sync now” button")."""

from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import render

from thankview.tenancy import portal_view

from . import scale_views, sync_selectors
from .salesforce.schedule import next_run_at

PAGE_SIZE = 50


@portal_view
def sync_health(request):
    portal = request.portal
    conn = sync_selectors.connection_for(portal)
    reason = request.GET.get("reason", "")
    if reason not in sync_selectors.REASONS:
        reason = ""
    ctx = {
        "connection": conn,
        "interval_hours": settings.SALESFORCE_SYNC_INTERVAL_SECONDS / 3600,
        "buffer_minutes": settings.SALESFORCE_SYNC_BUFFER_SECONDS // 60,
        "runs": list(sync_selectors.recent_runs(portal=portal)),
        "last_run": sync_selectors.last_run(portal=portal),
        "reasons": sync_selectors.REASONS,
        "reason": reason,
        "is_admin": request.membership.is_admin,
    }
    connected = bool(conn and conn.org_id and conn.has_tokens)
    if connected:
        ctx["next_run"] = next_run_at() if conn.sync_enabled and conn.status == conn.Status.CONNECTED else None
        ctx["totals"] = sync_selectors.record_totals(portal=portal, org_id=conn.org_id)
        page = Paginator(
            sync_selectors.unsynced_records(portal=portal, org_id=conn.org_id, reason=reason), PAGE_SIZE
        ).get_page(request.GET.get("page"))
        for rec in page.object_list:
            rec.reason = sync_selectors.reason_of(rec)
        ctx["page"] = page
        if conn.api_usage_max:
            ctx["api_percent"] = round(100 * (conn.api_usage_used or 0) / conn.api_usage_max, 1)
    ctx["connected"] = connected
    ctx.update(scale_views.health_context(portal=portal, connection=conn if connected else None))  # issue 6
    return render(request, "integrations/sync_health.html", ctx)
