"""Celery tasks of the sync: thin wrappers around ``sync.sync_portal_run``.

- ``sync_all_portals`` (beat, every ``SALESFORCE_SYNC_INTERVAL_SECONDS``) fans out one
  ``sync_portal`` per portal that is connected and has sync enabled.
- ``sync_portal`` runs one portal. Safe to run twice: the per-portal lock makes a duplicate
  delivery return at once, and a repeated run only writes what is still due (updates by id,
  upserts by ``Send_Id__c``, attempt markers before creates). ``acks_late`` so a worker that
  dies mid-run leaves the message to be delivered again.

Both are discovered through ``integrations/tasks.py`` (Celery's autodiscovery looks there).
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import beat_init
from django.conf import settings

log = logging.getLogger(__name__)


@shared_task(name="integrations.salesforce.tasks.sync_all_portals", acks_late=True, ignore_result=True)
def sync_all_portals() -> int:
    from ..models import SalesforceConnection

    portal_ids = list(
        SalesforceConnection.objects.filter(
            status=SalesforceConnection.Status.CONNECTED, sync_enabled=True
        ).values_list("portal_id", flat=True)
    )
    for portal_id in portal_ids:
        sync_portal.delay(portal_id)
    return len(portal_ids)


@shared_task(name="integrations.salesforce.tasks.sync_portal", acks_late=True, ignore_result=True)
def sync_portal(portal_id: int, trigger: str = "beat") -> str:
    from thankview.models import Portal

    from .sync import sync_portal_run

    portal = Portal.objects.filter(pk=portal_id).first()
    if portal is None:
        return "skipped (portal deleted)"
    return sync_portal_run(portal=portal, trigger=trigger).summary()


@beat_init.connect
def _keep_schedule_in_step(sender=None, **kwargs):
    """At beat start-up, make the stored schedule match SALESFORCE_SYNC_INTERVAL_SECONDS."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from .schedule import ensure_sync_schedule

    try:
        ensure_sync_schedule(PeriodicTask, IntervalSchedule, settings.SALESFORCE_SYNC_INTERVAL_SECONDS)
    except Exception:  # the schedule table may not exist yet (migrate not run): beat still starts
        log.exception("Could not update the Salesforce sync schedule")
