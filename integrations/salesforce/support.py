"""What support does to a portal's sync (Django admin, ``manage.py salesforce``): enable it,
pause it, re-sync campaigns.

Connecting and enabling sync are separate steps (the guide). The first enable fixes
``sync_enabled_at``: sends before it are due only when support re-syncs their campaigns; a
pause and a later enable resume where the sync left off (nothing is lost meanwhile).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from engagement.models import Send

from ..models import ResyncRequest, SalesforceConnection, SalesforceRecord, SupportEvent

RESYNC_CHUNK = 1000  # sends marked per statement


def sync_enable(*, connection: SalesforceConnection, by=None) -> bool:
    """Turn sync on; the first enable fixes ``sync_enabled_at``. Returns False if it was
    already on (``sync_enabled_at`` is still fixed if it was not yet). A change is written
    to the portal's sync history."""
    now = timezone.now()
    with transaction.atomic():
        changed = SalesforceConnection.objects.filter(pk=connection.pk, sync_enabled=False).update(
            sync_enabled=True, sync_paused_at=None, sync_changed_by=_user(by), updated_at=now
        )
        SalesforceConnection.objects.filter(pk=connection.pk, sync_enabled_at__isnull=True).update(sync_enabled_at=now)
        if changed:
            support_event_record(portal_id=connection.portal_id, kind=SupportEvent.Kind.ENABLED,
                                 summary="Sync enabled by ThankView support", by=by, at=now)
    connection.refresh_from_db()
    return bool(changed)


def sync_pause(*, connection: SalesforceConnection, by=None) -> bool:
    """Pause sync (nothing is lost: what happens meanwhile is synced after re-enabling)."""
    now = timezone.now()
    with transaction.atomic():
        changed = SalesforceConnection.objects.filter(pk=connection.pk, sync_enabled=True).update(
            sync_enabled=False, sync_paused_at=now, sync_changed_by=_user(by), updated_at=now
        )
        if changed:
            support_event_record(portal_id=connection.portal_id, kind=SupportEvent.Kind.PAUSED,
                                 summary="Sync paused by ThankView support", by=by, at=now)
    connection.refresh_from_db()
    return bool(changed)


def support_event_record(*, portal_id: int, kind: str, summary: str, by=None, at: datetime | None = None) -> SupportEvent:
    """One line in the portal's sync history (shown on its Sync health page)."""
    return SupportEvent.objects.create(portal_id=portal_id, kind=kind, summary=summary[:255], actor=_user(by),
                                       at=at or timezone.now())


def _user(by):
    """A saved user, or None (commands run without one)."""
    return by if getattr(by, "pk", None) else None


def campaign_resync(*, campaign, requested_by=None) -> int:
    """Mark every send of ``campaign`` due in the portal's current org; returns how many.

    Works for campaigns sent before sync was enabled (historical re-sync) and for synced
    ones (their records are updated, never duplicated). The request is recorded for the
    sync health page's progress (``progress.py``). Raises ValueError when the portal is not
    connected to an org.
    """
    conn = SalesforceConnection.objects.filter(portal_id=campaign.portal_id).first()
    if conn is None or not conn.org_id:
        raise ValueError(f"{campaign.portal} is not connected to Salesforce.")
    now = timezone.now()
    send_ids = list(Send.objects.filter(campaign=campaign).values_list("pk", flat=True))
    for i in range(0, len(send_ids), RESYNC_CHUNK):
        chunk = send_ids[i : i + RESYNC_CHUNK]
        SalesforceRecord.objects.bulk_create(
            [SalesforceRecord(send_id=sid, portal_id=campaign.portal_id, org_id=conn.org_id) for sid in chunk],
            ignore_conflicts=True,
        )
        SalesforceRecord.objects.filter(org_id=conn.org_id, send_id__in=chunk).update(resync_requested_at=now)
    with transaction.atomic():
        resync_request_record(campaign=campaign, org_id=conn.org_id, total=len(send_ids), requested_by=requested_by, at=now)
        support_event_record(portal_id=campaign.portal_id, kind=SupportEvent.Kind.RESYNC,
                             summary=f"Re-sync of {campaign.name} requested", by=requested_by, at=now)
    return len(send_ids)


def resync_request_record(*, campaign, org_id: str, total: int, requested_by=None, at: datetime | None = None):
    return ResyncRequest.objects.create(
        portal_id=campaign.portal_id, campaign=campaign, org_id=org_id, total=total,
        requested_by=_user(requested_by),
        requested_at=at or timezone.now(),
    )
