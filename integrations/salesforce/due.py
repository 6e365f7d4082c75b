"""Which sends a run writes: the buffer cut-off, and the due sends.

``cutoff = run start − SALESFORCE_SYNC_BUFFER_SECONDS``: events received after the cut-off
wait for the next run, so a record reflects settled engagement and activity reaches
Salesforce within interval + buffer (the guide's 2.5 hours by default).

A send is due when it was sent before the cut-off and

(a) it has no record in this org yet and was sent after sync was enabled, or
(b) it has a row in this org but no ``ThankView__c`` yet (unmatched, rejected, or the outcome
    of its create is unknown), or
(c) it has events received after its last synced cut-off and up to this one, or
(d) support asked to re-sync it (its campaign; ``support.campaign_resync``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection as db_connection

from engagement.models import Campaign, EngagementEvent, Send

from ..models import SalesforceRecord

BATCH_SIZE = 200  # due sends per batch of the Collections path: one sObject Collections call


def cutoff_for(started: datetime) -> datetime:
    """The cut-off of a run that started at ``started``."""
    return started - timedelta(seconds=settings.SALESFORCE_SYNC_BUFFER_SECONDS)


def _due_sql() -> str:
    send_t = Send._meta.db_table
    campaign_t = Campaign._meta.db_table
    record_t = SalesforceRecord._meta.db_table
    event_t = EngagementEvent._meta.db_table
    return f"""
        SELECT s.id FROM {send_t} s
        JOIN {campaign_t} c ON c.id = s.campaign_id
        LEFT JOIN {record_t} r ON r.send_id = s.id AND r.org_id = %s
        WHERE c.portal_id = %s AND s.sent_at < %s AND s.id > %s AND (
            (r.id IS NULL AND s.sent_at >= %s)
            OR r.record_id = ''
            OR r.resync_requested_at IS NOT NULL
            OR (r.id IS NOT NULL AND EXISTS (
                SELECT 1 FROM {event_t} e
                WHERE e.send_id = s.id AND e.received_at <= %s
                  AND (r.last_synced_cutoff IS NULL OR e.received_at > r.last_synced_cutoff)
            ))
        )
        ORDER BY s.id LIMIT %s
    """


def due_send_ids(
    *, portal, org_id: str, cutoff: datetime, enabled_at: datetime | None, batch_size: int = BATCH_SIZE
) -> Iterator[list[int]]:
    """Yield lists of due send ids, ascending, ``batch_size`` at a time (keyset pagination,
    never all in memory). One indexed query per batch; the rule is the module docstring's."""
    sql = _due_sql()
    # Never enabled: nothing is new-due (support's re-sync still works).
    enabled_at = enabled_at or cutoff
    after = 0
    while True:
        with db_connection.cursor() as cur:
            cur.execute(sql, [org_id, portal.pk, cutoff, after, enabled_at, cutoff, batch_size])
            ids = [row[0] for row in cur.fetchall()]
        if not ids:
            return
        yield ids
        if len(ids) < batch_size:
            return
        after = ids[-1]


def due_count_exceeds(*, portal, org_id: str, cutoff: datetime, enabled_at: datetime | None, threshold: int) -> bool:
    """True when more than ``threshold`` sends are due (reads at most ``threshold + 1`` ids)."""
    first = next(
        due_send_ids(portal=portal, org_id=org_id, cutoff=cutoff, enabled_at=enabled_at, batch_size=max(threshold + 1, 1)),
        [],
    )
    return len(first) > threshold
