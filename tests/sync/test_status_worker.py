"""End to end: real beat and a real worker (subprocesses, Redis broker) on a 10-second
interval. The pages say when beat will start the next run, beat starts it then, and
afterwards the pages show that run's time, outcome and counts and the next run."""

import os
import re
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from integrations.models import SyncRun
from integrations.salesforce.schedule import TASK_NAME
from tests.workers import celery_processes, redis_broker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

BROKER = os.environ.get("STATUS_TEST_BROKER_URL") or redis_broker(7)
INTERVAL = 10
WAIT_SECONDS = 90
# Beat ticks at most every second (--max-interval=1) and a worker picks the fan-out and
# the portal's task from the queue: the run starts a little after the time beat fires.
LATE_SECONDS = 8


def text_of(html, testid):
    m = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</dd>', html, re.S)
    assert m, testid
    return " ".join(re.sub(r"<[^>]+>", "", m.group(1).replace("<br>", " ")).split())


def minute(dt):
    return f"{dt:%-d %b %Y, %H:%M} UTC"


def wait_for(predicate, procs, what):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        assert procs.alive(), procs.dump()
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} not seen after {WAIT_SECONDS}s\n{procs.dump()}")


def test_pages_tell_the_truth_about_runs_started_by_real_beat(client_admin_a, sync_conn, sim, sfsim, make_send, tmp_path, settings):
    import redis

    redis.Redis.from_url(BROKER).flushdb()
    settings.SALESFORCE_SYNC_INTERVAL_SECONDS = INTERVAL  # what this process's pages say, as beat's
    sim.seed("Contact", [{"LastName": "Doe", "Email": "jane@x.org"}])
    make_send(email="jane@x.org", sent_at=timezone.now() - timedelta(hours=2), events=["opened"])
    make_send(email="nobody@example.org", sent_at=timezone.now() - timedelta(hours=2))
    settings_url = reverse("integrations:salesforce_settings", args=[sync_conn.portal.slug])
    health_url = reverse("integrations:sync_health", args=[sync_conn.portal.slug])
    assert text_of(client_admin_a.get(settings_url).content.decode(), "last-sync") == "No sync has run yet."

    with celery_processes(
        broker=BROKER, tmp_path=tmp_path, sfsim=sfsim, beat=True,
        env={"SALESFORCE_SYNC_INTERVAL_SECONDS": str(INTERVAL), "SALESFORCE_SYNC_BUFFER_SECONDS": "60"},
    ) as procs:
        # Beat's start-up puts the interval in the schedule: from then on the pages predict
        # the first run at the schedule's start plus the interval, not "now".
        task = wait_for(
            lambda: PeriodicTask.objects.filter(name=TASK_NAME, interval__every=INTERVAL).first(), procs, "the schedule"
        )
        assert task.last_run_at is None
        predicted = task.date_changed + timedelta(seconds=INTERVAL)
        assert text_of(client_admin_a.get(settings_url).content.decode(), "next-sync") == minute(predicted)

        run = wait_for(
            lambda: SyncRun.objects.filter(portal=sync_conn.portal, trigger="beat").exclude(outcome="running")
            .order_by("started_at").first(),
            procs, "a finished beat run",
        )
        assert predicted - timedelta(seconds=1) <= run.started_at <= predicted + timedelta(seconds=LATE_SECONDS), (
            predicted, run.started_at)
        assert (run.outcome, run.due, run.created, run.unmatched) == ("ok", 2, 1, 1)

        # What the pages say now, well before the next run (an interval away).
        html = client_admin_a.get(settings_url).content.decode()
        health = client_admin_a.get(health_url).content.decode()
        expected = f"{minute(run.started_at)}: Completed. 2 sends due: 1 created, 0 updated, 1 without a match, 0 rejected."
        assert text_of(html, "last-sync") == expected
        assert text_of(health, "last-sync") == expected
        beat_ran = PeriodicTask.objects.get(name=TASK_NAME).last_run_at
        assert beat_ran is not None and beat_ran <= run.started_at
        assert text_of(html, "sync-state") == "Enabled"
        assert "No sync has run yet" not in html and "No sync has run yet" not in health
        assert text_of(health, "totals-synced") == "1 send has a ThankView__c record"
        # The next run follows beat's last one by the interval, and beat starts it then.
        nxt = beat_ran + timedelta(seconds=INTERVAL)
        assert text_of(html, "next-sync") == minute(nxt)
        second = wait_for(
            lambda: SyncRun.objects.filter(portal=sync_conn.portal, trigger="beat", started_at__gt=run.started_at)
            .order_by("started_at").first(),
            procs, "the second beat run",
        )
        assert nxt - timedelta(seconds=1) <= second.started_at <= nxt + timedelta(seconds=LATE_SECONDS), (nxt, second.started_at)
    assert len(sim.records("ThankView__c")) == 1
