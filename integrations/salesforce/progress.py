"""Support re-sync progress: what the sync health page shows while a re-sync of a campaign
is being written to Salesforce.

``support.campaign_resync`` records each request (Django admin and ``manage.py salesforce
resync``). ``resync_progress(portal=...)`` reads, for the portal's
recent requests in its current org, how many of the requested sends were re-synced since the
request (a record synced after it), how many Salesforce could not take (unmatched or
rejected since), and how many still wait. One aggregate query per request; portal-scoped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from ..models import ResyncRequest, SalesforceRecord

SHOW_FOR = timedelta(days=7)  # finished requests stay on the page this long
MAX_SHOWN = 10


@dataclass
class Progress:
    id: int
    campaign: str
    requested_at: datetime
    total: int
    synced: int
    not_synced: int

    @property
    def waiting(self) -> int:
        return max(self.total - self.synced - self.not_synced, 0)

    @property
    def done(self) -> bool:
        return self.waiting == 0

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, round(100 * (self.synced + self.not_synced) / self.total))

    def as_json(self) -> dict:
        return {
            "id": self.id, "campaign": self.campaign, "requested_at": self.requested_at.isoformat(),
            "total": self.total, "synced": self.synced, "not_synced": self.not_synced, "waiting": self.waiting,
            "percent": self.percent, "done": self.done,
        }


def resync_progress(*, portal, org_id: str, now: datetime | None = None) -> list[Progress]:
    now = now or timezone.now()
    requests = list(
        ResyncRequest.objects.filter(portal=portal, org_id=org_id, requested_at__gte=now - SHOW_FOR)
        .select_related("campaign")
        .order_by("-requested_at", "-id")[:MAX_SHOWN]
    )
    out, seen = [], set()
    for req in requests:
        if req.campaign_id in seen:  # a newer request of the same campaign supersedes this one
            continue
        seen.add(req.campaign_id)
        S = SalesforceRecord.Status
        agg = SalesforceRecord.objects.filter(
            portal=portal, org_id=org_id, send__campaign_id=req.campaign_id
        ).aggregate(
            synced=Count("id", filter=Q(status=S.SYNCED, synced_at__gte=req.requested_at, resync_requested_at__isnull=True)),
            not_synced=Count("id", filter=Q(status__in=[S.UNMATCHED, S.FAILED], updated_at__gte=req.requested_at)),
        )
        out.append(Progress(
            id=req.pk, campaign=req.campaign.name, requested_at=req.requested_at, total=req.total,
            synced=min(agg["synced"], req.total), not_synced=min(agg["not_synced"], req.total - min(agg["synced"], req.total)),
        ))
    return out
