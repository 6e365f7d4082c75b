"""Sync health additions of issue 6: support re-sync progress (JSON for the page's poller)
and the last-30-days chart. Portal-scoped like every portal page (another portal's data is
never read; a non-member gets 404 from ``portal_view``)."""

from datetime import timedelta

from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from thankview.tenancy import portal_view

from . import sync_selectors
from .models import SyncRun
from .salesforce import charts, progress


def health_context(*, portal, connection) -> dict:
    """Extra context of the sync health page: the re-sync progress and the runs chart."""
    now = timezone.now()
    runs = SyncRun.objects.filter(portal=portal, started_at__gte=now - timedelta(days=charts.DAYS)).only(
        "started_at", "outcome", "created", "updated", "failed", "api_calls"
    )
    ctx = {"chart": charts.runs_chart(runs, now=now)}
    if connection and connection.org_id:
        items = progress.resync_progress(portal=portal, org_id=connection.org_id, now=now)
        ctx["resyncs"] = items
        ctx["resync_status"] = resync_status(items)
    return ctx


def resync_status(items) -> dict:
    """The JSON static/js/progress.js reads: label, bars, fields, finished."""
    waiting = [p for p in items if not p.done]
    total = sum(p.total for p in waiting)
    synced = sum(p.synced + p.not_synced for p in waiting)
    if not items:
        label = "No re-sync requested in the last 7 days."
    elif waiting:
        label = (
            f"Re-syncing {len(waiting)} campaign{'s' if len(waiting) != 1 else ''}: {synced:,} of {total:,} sends done. "
            "Sends are written in the next sync runs."
        )
    else:
        label = "Every requested re-sync is done."
    data = {
        "status": "running" if waiting else "done",
        "label": label,
        "finished": not waiting,
        "bars": {f"resync-{p.id}": {"value": p.synced + p.not_synced, "max": max(p.total, 1)} for p in items},
        "fields": {},
        "resyncs": [p.as_json() for p in items],
    }
    for p in items:
        for key in ("synced", "not_synced", "waiting", "percent"):
            data["fields"][f"resync-{p.id}-{key}"] = getattr(p, key)
    return data


@portal_view
@require_GET
@never_cache
def resync_progress(request):
    conn = sync_selectors.connection_for(request.portal)
    if not conn or not conn.org_id:
        return JsonResponse(resync_status([]))
    items = progress.resync_progress(portal=request.portal, org_id=conn.org_id)
    return JsonResponse(resync_status(items))
