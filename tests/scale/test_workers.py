"""Scale-out: several portals sync concurrently on TWO real Celery worker
processes against the real Redis broker (db 6 unless SCALE_TEST_BROKER_URL says otherwise).

Checked: ``sync_all_portals`` fans out one message per portal and both workers take them; runs
of different portals overlap in time (no shared lock) while each portal's runs never overlap
(its lock held, even though every portal was enqueued twice at once); every send arrives in
the simulator exactly once; a portal whose Salesforce cannot be reached retries on its own
message with backoff while the others finish. Every wait is bounded; the workers are killed
in ``finally`` (tests/workers.py)."""

import os
import time
from collections import Counter, defaultdict
from datetime import timedelta
from itertools import pairwise

import pytest
from django.utils import timezone

from engagement.models import Campaign, EngagementEvent, Send
from integrations.models import SyncRun
from tests.contacts.factories import make_contact
from tests.factories import PortalFactory
from tests.workers import celery_processes, redis_broker

from .conftest import connect_directly

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

BROKER = os.environ.get("SCALE_TEST_BROKER_URL") or redis_broker(6)
PORTALS = 4
SENDS_PER_PORTAL = 30
WAIT_SECONDS = 120


def _portal_with_sends(sim, n: int):
    portal = PortalFactory()
    connect_directly(sim, portal)
    campaign = Campaign.objects.create(portal=portal, name=f"Campaign {portal.slug}", video_url="https://v.example.org/x.mp4")
    emails = [f"p{portal.pk}-{i}@x.org" for i in range(n)]
    sim.seed("Contact", [{"LastName": f"L{i}", "Email": e} for i, e in enumerate(emails)])
    sent = timezone.now() - timedelta(hours=3)
    for e in emails:
        send = Send.objects.create(campaign=campaign, contact=make_contact(portal, email=e), sent_at=sent)
        EngagementEvent.objects.create(send=send, type="opened", occurred_at=sent, received_at=sent + timedelta(minutes=5))
    return portal


def _overlaps(runs) -> list:
    runs = sorted(runs, key=lambda r: r.started_at)
    return [(a.pk, b.pk) for a, b in pairwise(runs) if b.started_at < a.finished_at]


def test_many_portals_sync_concurrently_on_two_workers(sfsim, sim, sf_settings, tmp_path):
    import redis
    from celery import Celery

    redis.Redis.from_url(BROKER).flushdb()  # our own db number: no stale messages
    sim.fault("latency", ms=40)  # every REST call takes a while: runs of different portals overlap
    portals = [_portal_with_sends(sim, SENDS_PER_PORTAL) for _ in range(PORTALS)]
    # One portal whose instance refuses connections: "Unable to connect" on every attempt.
    broken = PortalFactory()
    connect_directly(sim, broken, instance_url="https://127.0.0.1:9")
    total = PORTALS * SENDS_PER_PORTAL

    sender = Celery("scale-test", broker=BROKER)
    with celery_processes(
        broker=BROKER, tmp_path=tmp_path, sfsim=sfsim, workers=2,
        env={"SALESFORCE_RETRY_ATTEMPTS": "2", "SALESFORCE_RETRY_BASE_SECONDS": "0.01",
             "SALESFORCE_RETRY_MAX_WAIT_SECONDS": "0.02", "SALESFORCE_SYNC_RETRY_BASE_SECONDS": "0.5",
             "SALESFORCE_SYNC_SOFT_TIME_LIMIT_SECONDS": "60", "SALESFORCE_SYNC_TIME_LIMIT_SECONDS": "90"},
    ) as procs:
        # Fan out twice at once: every portal gets two messages, which the two workers may
        # run at the same moment; the per-portal lock must keep them apart.
        sender.send_task("integrations.salesforce.tasks.sync_all_portals")
        sender.send_task("integrations.salesforce.tasks.sync_all_portals")
        deadline = time.monotonic() + WAIT_SECONDS
        done = False
        while time.monotonic() < deadline and not done:
            assert procs.alive(), procs.dump()
            finished = SyncRun.objects.exclude(outcome=SyncRun.Outcome.RUNNING)
            written = {p.pk: sum(finished.filter(portal=p).values_list("created", flat=True)) for p in portals}
            broken_runs = finished.filter(portal=broken).count()
            done = all(v == SENDS_PER_PORTAL for v in written.values()) and broken_runs >= 4
            done = done and not SyncRun.objects.filter(outcome=SyncRun.Outcome.RUNNING).exists()
            time.sleep(0.5)
        assert done, f"not finished after {WAIT_SECONDS}s: {written}, broken runs {broken_runs}\n" + procs.dump()
        logs = {name: procs.log_text(name) for name in ("worker1", "worker2")}
    sim.clear_faults()

    # Every send arrived exactly once.
    records = sim.records("ThankView__c")
    urls = Counter(r["Url__c"] for r in records)
    assert len(records) == total and all(n == 1 for n in urls.values())
    assert {r["Portal_Id__c"] for r in records} == {str(p.pk) for p in portals}

    # Per portal: no two runs overlapped (its lock held); across portals: runs did overlap.
    by_portal = defaultdict(list)
    for run in SyncRun.objects.filter(portal__in=[*portals, broken]):
        by_portal[run.portal_id].append(run)
    for portal_id, runs in by_portal.items():
        assert _overlaps(runs) == [], f"portal {portal_id} had overlapping runs"
    good_runs = [r for p in portals for r in by_portal[p.pk]]
    assert _overlaps(good_runs), "no two portals synced at the same time"
    assert all(r.outcome == "ok" for r in good_runs)
    # Both workers took sync_portal messages.
    assert all("sync_portal" in text and "succeeded" in text for text in logs.values()), logs

    # The unreachable portal: first run + its retries (SYNC_RETRIES = 3), on its own message.
    broken_runs = by_portal[broken.pk]
    assert {r.outcome for r in broken_runs} == {"unavailable"}
    assert 4 <= len(broken_runs) <= 8  # two fan-outs: the second delivery may run too, bounded
    assert min(r.finished_at for r in good_runs) < max(r.started_at for r in broken_runs)
