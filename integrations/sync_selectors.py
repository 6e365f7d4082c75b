"""Reads about the sync for pages and the API. Portal-scoped; never call Salesforce."""

from __future__ import annotations

from django.db.models import Count, Q

from engagement.models import EngagementEvent

from .models import SalesforceConnection, SalesforceRecord, SyncRun

REASON_NO_MATCH = "no_match"
REASON_INVALID_DONOR_ID = "invalid_donor_id"
REASON_REJECTED = "rejected"
REASONS = {
    REASON_NO_MATCH: "No Salesforce Contact or Lead has this email",
    REASON_INVALID_DONOR_ID: "Invalid Donor ID, and no Contact or Lead has this email",
    REASON_REJECTED: "Salesforce rejected the record",
}


def connection_for(portal) -> SalesforceConnection | None:
    return SalesforceConnection.objects.filter(portal=portal).first()


def recent_runs(*, portal, limit: int = 20):
    return SyncRun.objects.filter(portal=portal).order_by("-started_at", "-id")[:limit]


def last_run(*, portal) -> SyncRun | None:
    return SyncRun.objects.filter(portal=portal).exclude(outcome=SyncRun.Outcome.RUNNING).order_by("-started_at", "-id").first()


def record_totals(*, portal, org_id: str) -> dict:
    """Counts of this org's send records by status (one aggregate query)."""
    S = SalesforceRecord.Status
    agg = SalesforceRecord.objects.filter(portal=portal, org_id=org_id).aggregate(
        synced=Count("id", filter=Q(record_id__gt="")),
        unmatched=Count("id", filter=Q(status=S.UNMATCHED)),
        failed=Count("id", filter=Q(status=S.FAILED)),
        invalid_donor_ids=Count("id", filter=Q(donor_id_invalid=True)),
        ambiguous=Count("id", filter=Q(match_note__gt="")),
    )
    return agg


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


def send_sync_status(send) -> dict:
    """The send's Salesforce sync status, JSON-able (``GET /api/v1/sends/{id}``, send page)."""
    conn = SalesforceConnection.objects.filter(portal_id=send.campaign.portal_id).first()
    if conn is None or not conn.org_id or not conn.has_tokens:
        return {"status": "not_connected", "label": "Salesforce is not connected."}
    rec = SalesforceRecord.objects.filter(send=send, org_id=conn.org_id).first()
    base = {"org_id": conn.org_id, "sync_enabled": conn.sync_enabled}
    if rec is None:
        if conn.sync_enabled_at and send.sent_at >= conn.sync_enabled_at:
            return {**base, "status": "pending", "label": "Waiting for the next sync run."}
        if conn.sync_enabled_at:
            label = "Sent before sync was enabled; ThankView support can re-sync this campaign."
        else:
            label = "Sync is not enabled yet; ThankView support turns it on."
        return {**base, "status": "not_scheduled", "label": label}
    newer = bool(
        rec.record_id
        and EngagementEvent.objects.filter(
            send=send, **({"received_at__gt": rec.last_synced_cutoff} if rec.last_synced_cutoff else {})
        ).exists()
    )
    status = rec.status
    if status == SalesforceRecord.Status.SYNCED and (newer or rec.resync_requested_at):
        label = "Synced; newer activity goes in the next run."
    elif status == SalesforceRecord.Status.SYNCED:
        label = "Synced."
    elif status == SalesforceRecord.Status.UNMATCHED:
        label = REASONS[reason_of(rec)] + "."
    elif status == SalesforceRecord.Status.FAILED:
        label = f"Salesforce rejected the record: {rec.error_code} {rec.error_message}".strip()
    else:
        label = "Waiting for the next sync run."
    return {
        **base,
        "status": status,
        "label": label,
        "record_id": rec.record_id or None,
        "record_url": f"{conn.instance_url}/{rec.record_id}" if rec.record_id and conn.instance_url else None,
        "match": rec.match_method or None,
        "contact_id": rec.contact_id or None,
        "lead_id": rec.lead_id or None,
        "match_note": rec.match_note or None,
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
