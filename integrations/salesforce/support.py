"""What support does to a portal's sync (Django admin, ``manage.py salesforce``): enable it,
pause it, re-sync campaigns, set the portal's API cap and contact object, disconnect.

Connecting and enabling sync are separate steps (the guide). The first enable fixes
``sync_enabled_at``: sends before it are due only when support re-syncs their campaigns; a
pause and a later enable resume where the sync left off (nothing is lost meanwhile).

Every action that changes something writes two lines: one in the portal's sync history
(``SupportEvent``, shown on its Sync health page: "Sync paused by ThankView support on …")
and one in Django admin's history (``audit.admin_history_record``: "Sync paused by
support@…"). The admin and the command call these same functions, so both log alike.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from engagement.models import Send

from ..models import ResyncRequest, SalesforceConnection, SalesforceRecord, SupportEvent
from .audit import actor_name, admin_history_record
from .connection import connection_disconnect

RESYNC_CHUNK = 1000  # sends marked per statement
# A Salesforce API name: a letter, then letters, digits and underscores (custom ones end in __c).
API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")


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
            _record(connection, by, SupportEvent.Kind.ENABLED, "Sync enabled by ThankView support", "Sync enabled", now)
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
            _record(connection, by, SupportEvent.Kind.PAUSED, "Sync paused by ThankView support", "Sync paused", now)
    connection.refresh_from_db()
    return bool(changed)


def api_cap_set(*, connection: SalesforceConnection, percent: int, by=None) -> bool:
    """Set the portal's share of the org's daily API requests (1–100 %); False if unchanged.
    Raises ValueError for a share outside 1–100."""
    if not isinstance(percent, int) or not 1 <= percent <= 100:
        raise ValueError(f"The API cap must be a whole percentage from 1 to 100, not {percent!r}.")
    old = connection.api_cap_percent
    if old == percent:
        return False
    with transaction.atomic():
        SalesforceConnection.objects.filter(pk=connection.pk).update(api_cap_percent=percent, updated_at=timezone.now())
        _record(connection, by, SupportEvent.Kind.API_CAP,
                f"API cap set to {percent}% of the org's daily requests by ThankView support",
                f"API cap changed from {old}% to {percent}% of the org's daily requests")
    connection.refresh_from_db()
    return True


def contact_object_set(*, connection: SalesforceConnection, contact_lookup_field: str, contact_object: str,
                       contact_email_field: str, by=None) -> bool:
    """Point the sync at a custom contact object: ``ThankView__c``'s lookup field, the object
    it points to and that object's email field. False if unchanged; ValueError for a name
    that is not a Salesforce API name."""
    new = {"contact_lookup_field": contact_lookup_field.strip(), "contact_object": contact_object.strip(),
           "contact_email_field": contact_email_field.strip()}
    bad = [v or "(empty)" for v in new.values() if not API_NAME.match(v)]
    if bad:
        raise ValueError(f"Not a Salesforce API name: {', '.join(bad)}.")
    old = {k: getattr(connection, k) for k in new}
    if old == new:
        return False
    with transaction.atomic():
        SalesforceConnection.objects.filter(pk=connection.pk).update(**new, updated_at=timezone.now())
        _record(connection, by, SupportEvent.Kind.CONTACT_OBJECT,
                f"Contact object set to {new['contact_object']} by ThankView support",
                f"Contact object changed from {contact_object_label(**old)} to {contact_object_label(**new)}")
    connection.refresh_from_db()
    return True


def contact_object_label(*, contact_lookup_field: str, contact_object: str, contact_email_field: str) -> str:
    """``Contact__c → Contact.Email``: the lookup, the object and its email field."""
    return f"{contact_lookup_field} → {contact_object}.{contact_email_field}"


def support_disconnect(*, connection: SalesforceConnection, by=None) -> tuple[bool, str]:
    """Disconnect the portal from its org for the customer (revoke, forget the tokens); as
    ``connection.connection_disconnect``, plus both history lines."""
    revoked, detail = connection_disconnect(connection=connection)
    how = "token revoked at Salesforce" if revoked else f"revoking the token failed ({detail}); it is forgotten here"
    _record(connection, by, SupportEvent.Kind.DISCONNECTED, "Disconnected from Salesforce by ThankView support",
            f"Disconnected from Salesforce ({how})")
    return revoked, detail


def support_event_record(*, portal_id: int, kind: str, summary: str, by=None, at: datetime | None = None) -> SupportEvent:
    """One line in the portal's sync history (shown on its Sync health page)."""
    return SupportEvent.objects.create(portal_id=portal_id, kind=kind, summary=summary[:255], actor=_user(by),
                                       at=at or timezone.now())


def _record(connection, by, kind: str, summary: str, change: str, at: datetime | None = None) -> None:
    """Both lines of one action: the portal's (``summary``) and admin's (``change`` + "by …")."""
    support_event_record(portal_id=connection.portal_id, kind=kind, summary=summary, by=by, at=at)
    if _user(by):
        admin_history_record(obj=connection, by=by, message=f"{change} by {actor_name(by)}")


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
        if _user(requested_by):
            admin_history_record(
                obj=campaign, by=requested_by,
                message=f"Re-sync to Salesforce of {len(send_ids):,} send{'s' if len(send_ids) != 1 else ''} requested "
                f"by {actor_name(requested_by)}",
            )
    return len(send_ids)


def resync_request_record(*, campaign, org_id: str, total: int, requested_by=None, at: datetime | None = None):
    return ResyncRequest.objects.create(
        portal_id=campaign.portal_id, campaign=campaign, org_id=org_id, total=total,
        requested_by=_user(requested_by),
        requested_at=at or timezone.now(),
    )
