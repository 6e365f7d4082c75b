"""The sync's status, as every page and the API say it: one place, so they never disagree.

``sync_status`` answers, for one portal: is the sync on (connected? enabled by support? paused,
since when, by whom? stopped by an expired session?), what the last finished run did, whether
a run is going on now, and when beat starts the next one. The Integrations & APIs overview,
Salesforce Settings, Sync health and a send's status (page and ``GET /api/v1/sends/{id}``)
all read it; ``templates/integrations/_sync_status.html`` renders it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from ..models import SalesforceConnection, SyncRun
from . import errors
from .schedule import next_run_at

NOT_CONNECTED = "not_connected"
EXPIRED = "expired"
NOT_ENABLED = "not_enabled"
PAUSED = "paused"
ENABLED = "enabled"

# (badge, label, what it means for the user). A paused sync's label is followed by its
# date ("Paused by ThankView support since …").
TEXTS = {
    NOT_CONNECTED: ("", "Not connected", "Connect Salesforce on Salesforce Settings; ThankView support then enables the sync."),
    EXPIRED: ("err", "Stopped: the Salesforce session expired",
              "Reconnect on Salesforce Settings; the sync continues where it left off."),
    NOT_ENABLED: ("warn", "Not enabled yet",
                  "Connecting and enabling sync are separate steps: contact ThankView support to turn it on."),
    PAUSED: ("warn", "Paused by ThankView support",
             "Nothing is lost: activity from the pause on is synced once support turns the sync back on."),
    ENABLED: ("ok", "Enabled", ""),
}
# An enabled sync that a stored problem stops or holds up says so next to "Enabled".
STOPPING_KINDS = {
    errors.PERMISSIONS: "Runs stop until the Salesforce permissions are fixed (see Insufficient Permissions).",
    errors.MAPPING: "Runs stop until the field mappings are fixed (see Mapping Error).",
    errors.CONNECTION: "ThankView cannot reach Salesforce at the moment; it keeps trying.",
    errors.SERVICE: "Runs wait until ThankView has fixed its side; nothing is lost.",
}
# Why there is no next run, when there is none.
NO_NEXT_RUN = {
    NOT_CONNECTED: "None: Salesforce is not connected.",
    EXPIRED: "None until you reconnect.",
    NOT_ENABLED: "None until ThankView support enables the sync.",
    PAUSED: "None while the sync is paused.",
    ENABLED: "Not scheduled: the sync schedule is missing. Contact ThankView support.",
}


@dataclass(frozen=True)
class SyncStatus:
    state: str
    badge: str
    label: str
    explanation: str
    paused_since: datetime | None
    last_run: SyncRun | None
    running_since: datetime | None
    next_run: datetime | None
    interval_seconds: int
    buffer_seconds: int

    @property
    def enabled(self) -> bool:
        return self.state == ENABLED

    @property
    def connected(self) -> bool:
        return self.state != NOT_CONNECTED

    @property
    def interval_text(self) -> str:
        return duration_text(self.interval_seconds)

    @property
    def buffer_text(self) -> str:
        return duration_text(self.buffer_seconds)

    @property
    def last_run_text(self) -> str:
        return run_counts_text(self.last_run) if self.last_run else ""

    @property
    def no_next_run_text(self) -> str:
        return NO_NEXT_RUN[self.state]

    def as_json(self) -> dict:
        run = self.last_run
        return {
            "state": self.state,
            "label": self.label,
            "paused_since": self.paused_since.isoformat() if self.paused_since else None,
            "last_run": None if run is None else {
                "started_at": run.started_at.isoformat(), "outcome": run.outcome, "text": run_counts_text(run)},
            "next_run": self.next_run.isoformat() if self.next_run else None,
        }


def state_of(connection: SalesforceConnection | None) -> str:
    if connection is None or not connection.has_tokens or not connection.org_id:
        return NOT_CONNECTED
    if connection.status == SalesforceConnection.Status.EXPIRED:
        return EXPIRED
    if connection.sync_enabled:
        return ENABLED
    return PAUSED if connection.sync_paused_at else NOT_ENABLED


def sync_status(*, portal, connection: SalesforceConnection | None) -> SyncStatus:
    """The portal's sync status (three small queries: last run, running run, the schedule)."""
    state = state_of(connection)
    badge, label, explanation = TEXTS[state]
    if state == ENABLED and connection.error_kind in STOPPING_KINDS:
        badge, explanation = "err", STOPPING_KINDS[connection.error_kind]
    runs = SyncRun.objects.filter(portal=portal).order_by("-started_at", "-id")
    running = runs.filter(outcome=SyncRun.Outcome.RUNNING).values_list("started_at", flat=True).first()
    return SyncStatus(
        state=state,
        badge=badge,
        label=label,
        explanation=explanation,
        paused_since=connection.sync_paused_at if state == PAUSED else None,
        last_run=runs.exclude(outcome=SyncRun.Outcome.RUNNING).first(),
        running_since=running,
        # Only an enabled, connected sync has a next run; beat skips the others.
        next_run=next_run_at() if state == ENABLED else None,
        interval_seconds=settings.SALESFORCE_SYNC_INTERVAL_SECONDS,
        buffer_seconds=settings.SALESFORCE_SYNC_BUFFER_SECONDS,
    )


def count_text(n: int, singular: str, plural: str | None = None) -> str:
    """"1 send", "2 sends", "1,200 sends"."""
    return f"{n:,} {singular if n == 1 else (plural or singular + 's')}"


def run_counts_text(run: SyncRun) -> str:
    """What one run did, in words: "3 sends due: 2 created, 1 updated, 0 without a match, 0 rejected"."""
    return (
        f"{count_text(run.due, 'send')} due: {run.created:,} created, {run.updated + run.adopted:,} updated, "
        f"{run.unmatched:,} without a match, {run.failed:,} rejected"
    )


def duration_text(seconds: int) -> str:
    """"2 hours", "30 minutes", "1 hour 30 minutes", "45 seconds"."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    parts = [count_text(v, unit) for v, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second")) if v]
    return " ".join(parts) or "0 seconds"
