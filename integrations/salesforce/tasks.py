"""Celery tasks of the sync: thin wrappers around ``run.sync_portal_run``.

- ``sync_all_portals`` (beat, every ``SALESFORCE_SYNC_INTERVAL_SECONDS``) fans out one
  ``sync_portal`` per portal that is connected and has sync enabled.
- ``sync_portal`` runs one portal. Safe to run twice: the per-portal lock makes a duplicate
  delivery return at once, and a repeated run only writes what is still due (updates by id,
  upserts by ``Send_Id__c``, attempt markers before creates). ``acks_late`` so a worker that
  dies mid-run leaves the message to be delivered again. Soft/hard time limits per task, and
  a run that could not reach Salesforce is retried on its own message with backoff (the
  other portals' messages are not behind it). No lock is shared between portals.

Both are discovered through ``integrations/tasks.py`` (Celery's autodiscovery looks there).
"""

from __future__ import annotations

import logging
import random

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import beat_init
from django.conf import settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from thankview.models import Portal

from ..models import SalesforceConnection, SyncRun
from .run import sync_portal_run
from .schedule import ensure_sync_schedule

log = logging.getLogger(__name__)

SYNC_RETRIES = 3  # "Unable to connect" runs of one portal retried this often before the next cycle
RETRY_MAX_SECONDS = 900.0


@shared_task(name="integrations.salesforce.tasks.sync_all_portals", acks_late=True, ignore_result=True)
def sync_all_portals() -> int:
    """Fan out: one ``sync_portal`` message per portal, so any number of workers share them
    and a slow org holds one worker, never the others' portals."""
    portal_ids = list(
        SalesforceConnection.objects.filter(
            status=SalesforceConnection.Status.CONNECTED, sync_enabled=True
        ).values_list("portal_id", flat=True)
    )
    for portal_id in portal_ids:
        sync_portal.delay(portal_id)
    return len(portal_ids)


def retry_countdown(retries: int) -> float:
    """Backoff of one portal's retries: 1, 2, 4 ... minutes (capped), with jitter so that
    portals of one failing org do not come back at the same second."""
    base = min(settings.SALESFORCE_SYNC_RETRY_BASE_SECONDS * 2**retries, RETRY_MAX_SECONDS)
    return base / 2 + random.uniform(0, base / 2)


# Per-task time limits (a stuck org cannot hold a worker for ever: the soft limit
# stops the run cleanly, the hard limit kills the process) and retries of "Unable to connect"
# scheduled on the *failing portal's own* message with backoff, so the worker is free for
# other portals meanwhile (the client's in-call retries are seconds; these are minutes).
@shared_task(
    bind=True,
    name="integrations.salesforce.tasks.sync_portal",
    acks_late=True,
    ignore_result=True,
    max_retries=SYNC_RETRIES,
    soft_time_limit=settings.SALESFORCE_SYNC_SOFT_TIME_LIMIT_SECONDS,
    time_limit=settings.SALESFORCE_SYNC_TIME_LIMIT_SECONDS,
)
def sync_portal(self, portal_id: int, trigger: str = "beat") -> str:
    portal = Portal.objects.filter(pk=portal_id).first()
    if portal is None:
        return "skipped (portal deleted)"
    try:
        result = sync_portal_run(portal=portal, trigger=trigger)
    except SoftTimeLimitExceeded:
        # The run recorded itself (outcome "error", SoftTimeLimitExceeded) and released the
        # portal's lock; what it did not write stays due for the next cycle.
        log.warning("Salesforce sync of portal %s stopped at the soft time limit", portal_id)
        return "stopped (time limit)"
    run = result.run
    if (
        run is not None
        and run.outcome == SyncRun.Outcome.UNAVAILABLE
        and not self.request.is_eager
        and self.request.retries < self.max_retries
    ):
        raise self.retry(countdown=retry_countdown(self.request.retries))
    return result.summary()


@beat_init.connect
def _keep_schedule_in_step(sender=None, **kwargs):
    """At beat start-up, make the stored schedule match SALESFORCE_SYNC_INTERVAL_SECONDS."""
    try:
        ensure_sync_schedule(PeriodicTask, IntervalSchedule, settings.SALESFORCE_SYNC_INTERVAL_SECONDS)
    except Exception:  # the schedule table may not exist yet (migrate not run): beat still starts
        log.exception("Could not update the Salesforce sync schedule")
