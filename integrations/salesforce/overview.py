"""One portal's integration at a glance, for support in Django admin: what a customer asks
("is our sync on? since when? who paused it? why did it stop?") answered on one page.

Reads only; no Salesforce call.
"""

from __future__ import annotations

from django.urls import reverse

from ..models import ResyncRequest, SalesforceConnection, SupportEvent
from . import banners, budget, progress, selectors

RUNS_SHOWN = 10
HISTORY_SHOWN = 20
RESYNCS_SHOWN = 10


def portal_overview(connection: SalesforceConnection) -> dict:
    """Connection, sync state, the last runs, banners, unsynced counts, API use against the
    cap, re-syncs and the support history of ``connection``'s portal."""
    portal = connection.portal
    slug = portal.slug
    ctx = {
        "conn": connection,
        "sync_state": sync_state(connection),
        "runs": list(selectors.recent_runs(portal=portal, limit=RUNS_SHOWN)),
        "banners": banners.connection_banners(connection) if connection.has_tokens else [],
        "cap": budget.portal_cap(connection),
        "history": list(SupportEvent.objects.filter(portal=portal).select_related("actor")[:HISTORY_SHOWN]),
        "resyncs": resync_requests(connection),
        "totals": selectors.record_totals(portal=portal, org_id=connection.org_id) if connection.org_id else None,
        "links": {
            "health": reverse("integrations:sync_health", args=[slug]),
            "no_match": reverse("integrations:sync_health", args=[slug]) + f"?reason={selectors.REASON_NO_MATCH}",
            "rejected": reverse("integrations:sync_health", args=[slug]) + f"?reason={selectors.REASON_REJECTED}",
            "contacts_unmatched": reverse("contacts:list", args=[slug]) + "?filter=unmatched",
            "settings": reverse("integrations:salesforce_settings", args=[slug]),
            "records_unmatched": reverse("admin:integrations_salesforcerecord_changelist")
            + f"?portal__id__exact={portal.pk}&status__exact=unmatched",
            "records_failed": reverse("admin:integrations_salesforcerecord_changelist")
            + f"?portal__id__exact={portal.pk}&status__exact=failed",
            "runs": reverse("admin:integrations_syncrun_changelist") + f"?portal__id__exact={portal.pk}",
        },
    }
    return ctx


def sync_state(conn: SalesforceConnection) -> str:
    """One sentence: on or off, since when, and who changed it."""
    who = f" by {conn.sync_changed_by.email or conn.sync_changed_by.get_username()}" if conn.sync_changed_by else ""
    if conn.sync_enabled:
        # sync_enabled_at is the first enable; after a pause, the latest enable is in the history.
        latest = SupportEvent.objects.filter(portal_id=conn.portal_id, kind=SupportEvent.Kind.ENABLED).first()
        since = latest.at if latest else conn.sync_enabled_at
        return f"On since {since:%Y-%m-%d %H:%M} UTC{who}" if since else f"On{who}"
    if conn.sync_paused_at:
        return f"Paused since {conn.sync_paused_at:%Y-%m-%d %H:%M} UTC{who}"
    return "Off: never enabled"


def resync_requests(conn: SalesforceConnection) -> list[ResyncRequest]:
    """The latest re-sync requests, each with ``progress`` (None once it is too old for the
    health page's progress, or superseded by a newer request of the same campaign)."""
    reqs = list(
        ResyncRequest.objects.filter(portal=conn.portal).select_related("campaign", "requested_by")[:RESYNCS_SHOWN]
    )
    shown = {p.id: p for p in progress.resync_progress(portal=conn.portal, org_id=conn.org_id)} if conn.org_id else {}
    for r in reqs:
        r.progress = shown.get(r.pk)
    return reqs
