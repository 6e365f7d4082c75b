"""Reads about the connection and the sync, for pages, the API and the commands.

Portal-scoped; none of these calls Salesforce or writes.

- The sync health page: runs, totals, the sends not synced and why, API usage, the re-sync
  progress and the 30-day runs chart (``health_context``; ``resync_status`` is also the JSON
  the page's poller reads).
- A send's Salesforce status (``send_sync_status``), for the send page and
  ``GET /api/v1/sends/{id}``.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.paginator import Paginator
from django.db.models import Count, Q, Subquery
from django.utils import timezone

from engagement.models import EngagementEvent

from ..models import SalesforceConnection, SalesforceRecord, SupportEvent, SyncRun
from . import charts, matching, progress, records
from .status import PAUSED, state_of, sync_status
from .values import BLANK_REQUIRED_CODE

REASON_NO_MATCH = "no_match"
REASON_INVALID_DONOR_ID = "invalid_donor_id"
REASON_REJECTED = "rejected"
REASONS = {
    REASON_NO_MATCH: "No Salesforce Contact or Lead has this email",
    REASON_INVALID_DONOR_ID: "Invalid Donor ID, and no Contact or Lead has this email",
    REASON_REJECTED: "Salesforce rejected the record",
}
UNSYNCED_PAGE_SIZE = 50
SUPPORT_HISTORY_SHOWN = 20


def connection_for(portal) -> SalesforceConnection | None:
    return SalesforceConnection.objects.filter(portal=portal).first()


def portals_sharing_user(connection: SalesforceConnection | None) -> int:
    """How many other portals hold tokens of the same Salesforce user (user ids are unique
    across orgs). Salesforce keeps five approvals per user per connected app, so together they
    can push each other's approval out (Salesforce Help, "Manage OAuth Access for Your
    Connected Apps")."""
    if connection is None or not connection.user_id or not connection.has_tokens:
        return 0
    return (
        SalesforceConnection.objects.filter(user_id=connection.user_id)
        .exclude(pk=connection.pk)
        .exclude(refresh_token_enc="")
        .count()
    )


def recent_runs(*, portal, limit: int = 20):
    return SyncRun.objects.filter(portal=portal).order_by("-started_at", "-id")[:limit]


def last_run(*, portal) -> SyncRun | None:
    return SyncRun.objects.filter(portal=portal).exclude(outcome=SyncRun.Outcome.RUNNING).order_by("-started_at", "-id").first()


def support_history(*, portal, limit: int = SUPPORT_HISTORY_SHOWN) -> list[SupportEvent]:
    """What ThankView support did to this portal's sync, newest first (Sync health)."""
    return list(SupportEvent.objects.filter(portal=portal).order_by("-at", "-id")[:limit])


def record_totals(*, portal, org_id: str) -> dict:
    """Counts of this org's send records by status (one aggregate query)."""
    S = SalesforceRecord.Status
    return SalesforceRecord.objects.filter(portal=portal, org_id=org_id).aggregate(
        synced=Count("id", filter=Q(record_id__gt="")),
        unmatched=Count("id", filter=Q(status=S.UNMATCHED)),
        failed=Count("id", filter=Q(status=S.FAILED)),
        invalid_donor_ids=Count("id", filter=Q(donor_id_invalid=True)),
        ambiguous=Count("id", filter=Q(match_note__gt="") & ~Q(match_note=matching.CONVERTED_LEAD_NOTE)),
    )


def unsynced_records(*, portal, org_id: str, reason: str = ""):
    """This org's sends that are not in Salesforce (or whose last write failed), with their
    reason, newest first."""
    S = SalesforceRecord.Status
    qs = SalesforceRecord.objects.filter(portal=portal, org_id=org_id).select_related(
        "send", "send__contact", "send__campaign"
    )
    if reason == REASON_NO_MATCH:
        qs = qs.filter(status=S.UNMATCHED, donor_id_invalid=False)
    elif reason == REASON_INVALID_DONOR_ID:
        qs = qs.filter(status=S.UNMATCHED, donor_id_invalid=True)
    elif reason == REASON_REJECTED:
        qs = qs.filter(status=S.FAILED)
    else:
        qs = qs.filter(status__in=[S.UNMATCHED, S.FAILED])
    return qs.order_by("-send__sent_at", "-id")


def reason_of(record: SalesforceRecord) -> str:
    if record.status == SalesforceRecord.Status.FAILED:
        return REASON_REJECTED
    return REASON_INVALID_DONOR_ID if record.donor_id_invalid else REASON_NO_MATCH


# --- the sync health page ----------------------------------------------------------------


def health_context(*, portal, connection: SalesforceConnection | None, reason: str, page_number) -> dict:
    """Everything the sync health page shows. ``reason`` filters the unsynced sends (an
    unknown one shows them all); ``page_number`` is the unsynced list's page."""
    if reason not in REASONS:
        reason = ""
    connected = bool(connection and connection.org_id and connection.has_tokens)
    ctx = {
        "connection": connection,
        "sync": sync_status(portal=portal, connection=connection),
        "runs": list(recent_runs(portal=portal)),
        "reasons": REASONS,
        "reason": reason,
        "connected": connected,
        "support_history": support_history(portal=portal),
    }
    if connected:
        ctx.update(_health_of_org(portal=portal, connection=connection, reason=reason, page_number=page_number))
    ctx.update(_health_charts(portal=portal, connection=connection if connected else None))
    return ctx


def _health_of_org(*, portal, connection, reason, page_number) -> dict:
    """The parts that need a connected org: next run, totals, the unsynced page, API usage."""
    ctx = {"totals": record_totals(portal=portal, org_id=connection.org_id)}
    page = Paginator(
        unsynced_records(portal=portal, org_id=connection.org_id, reason=reason), UNSYNCED_PAGE_SIZE
    ).get_page(page_number)
    for rec in page.object_list:
        rec.reason = reason_of(rec)
    ctx["page"] = page
    if connection.api_usage_max:
        ctx["api_percent"] = round(100 * (connection.api_usage_used or 0) / connection.api_usage_max, 1)
    return ctx


def _health_charts(*, portal, connection) -> dict:
    """The last-30-days runs chart and, for a connected org, the support re-sync progress."""
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


def resync_status_for(portal) -> dict:
    """The re-sync progress JSON of the portal's current org (empty when not connected)."""
    conn = connection_for(portal)
    if not conn or not conn.org_id:
        return resync_status([])
    return resync_status(progress.resync_progress(portal=portal, org_id=conn.org_id))


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


# --- a send's Salesforce status ----------------------------------------------------------


def send_sync_status(send) -> dict:
    """The send's Salesforce sync status, JSON-able (``GET /api/v1/sends/{id}``, send page).

    1. No connected org: "not connected".
    2. No record of the send in the current org: pending (sent since sync was enabled) or
       not scheduled (sent before, or sync never enabled).
    3. Else the record's status, its label, and what Salesforce holds.
    """
    conn = SalesforceConnection.objects.filter(portal_id=send.campaign.portal_id).first()
    if conn is None or not conn.org_id or not conn.has_tokens:
        return {"status": "not_connected", "label": "Salesforce is not connected."}
    base = {"org_id": conn.org_id, "sync_enabled": conn.sync_enabled}
    rec = SalesforceRecord.objects.filter(send=send, org_id=conn.org_id).first()
    if rec is None:
        return {**base, **_status_without_record(conn, send)}
    newer = _newer_activity(send, rec)
    return {**base, "status": rec.status, "label": _record_label(rec, newer), **_record_detail(conn, rec, newer)}


def _status_without_record(conn: SalesforceConnection, send) -> dict:
    if conn.sync_enabled_at and send.sent_at >= conn.sync_enabled_at:
        if state_of(conn) == PAUSED:
            return {"status": "pending", "label": "Sync is paused by ThankView support; this send is synced once it is turned back on."}
        return {"status": "pending", "label": "Waiting for the next sync run."}
    if conn.sync_enabled_at:
        label = "Sent before sync was enabled; ThankView support can re-sync this campaign."
    else:
        label = "Sync is not enabled yet; ThankView support turns it on."
    return {"status": "not_scheduled", "label": label}


def _newer_activity(send, rec: SalesforceRecord) -> bool:
    """Engagement received after the synced record's cut-off (goes in the next run)."""
    if not rec.record_id:
        return False
    since = {"received_at__gt": rec.last_synced_cutoff} if rec.last_synced_cutoff else {}
    return EngagementEvent.objects.filter(send=send, **since).exists()


def _record_label(rec: SalesforceRecord, newer: bool) -> str:
    S = SalesforceRecord.Status
    if rec.status == S.SYNCED and (newer or rec.resync_requested_at):
        return "In Salesforce; newer activity goes in the next run."
    if rec.status == S.SYNCED:
        return "Up to date in Salesforce."
    if rec.status == S.UNMATCHED and rec.error_code == records.CONVERTED_LEAD_CODE:
        return rec.error_message
    if rec.status == S.UNMATCHED:
        return REASONS[reason_of(rec)] + "."
    if rec.status == S.FAILED and rec.error_code == BLANK_REQUIRED_CODE:
        return rec.error_message  # held back by ThankView (values.py): it names the field
    if rec.status == S.FAILED:
        return f"Salesforce rejected the record: {rec.error_code} {rec.error_message}".strip()
    return "Waiting for the next sync run."


def _record_detail(conn: SalesforceConnection, rec: SalesforceRecord, newer: bool) -> dict:
    return {
        "record_id": rec.record_id or None,
        "record_url": f"{conn.instance_url}/{rec.record_id}" if rec.record_id and conn.instance_url else None,
        "match": rec.match_method or None,
        "contact_id": rec.contact_id or None,
        "lead_id": rec.lead_id or None,
        "match_note": rec.match_note or None,
        "value_note": rec.value_note or None,
        "donor_id_invalid": rec.donor_id_invalid,
        "last_synced_cutoff": rec.last_synced_cutoff.isoformat() if rec.last_synced_cutoff else None,
        "synced_at": rec.synced_at.isoformat() if rec.synced_at else None,
        "newer_activity_pending": newer,
        "resync_requested": rec.resync_requested_at is not None,
        "error": (
            {"code": rec.error_code, "message": rec.error_message, "fields": rec.error_fields}
            if rec.error_code
            else None
        ),
    }


def unmatched_contact_ids(*, portal):
    """A subquery of the ids of contacts with a send the sync could not match.

    Only records of the org the portal is connected to now count: after reconnecting to
    another org, the old org's "no match" says nothing about the new one. A contact drops
    out as soon as a run matches it (the record's status changes).
    """
    org_id = SalesforceConnection.objects.filter(portal=portal).values("org_id")[:1]
    return SalesforceRecord.objects.filter(
        portal=portal, org_id=Subquery(org_id), status=SalesforceRecord.Status.UNMATCHED
    ).values("send__contact_id")


def unmatched_contacts_filter(portal, queryset):
    """The contacts of ``queryset`` the Salesforce sync found no Contact or Lead for."""
    return queryset.filter(pk__in=unmatched_contact_ids(portal=portal))
