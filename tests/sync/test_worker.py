"""A real Celery worker and beat (subprocesses) against the real Redis broker: with a short
interval, a send reaches the simulator without any manual call."""

import os
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.workers import celery_processes, redis_broker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

BROKER = os.environ.get("SYNC_TEST_BROKER_URL") or redis_broker(4)
WAIT_SECONDS = 90


def test_beat_and_worker_sync_a_send_without_a_manual_call(sync_conn, sim, sfsim, make_send, tmp_path):
    import redis

    redis.Redis.from_url(BROKER).flushdb()  # our own db number: no stale messages
    [cid] = sim.seed("Contact", [{"LastName": "Doe", "Email": "jane@x.org"}])
    send = make_send(email="jane@x.org", sent_at=timezone.now() - timedelta(minutes=1), events=["opened"])

    with celery_processes(
        broker=BROKER, tmp_path=tmp_path, sfsim=sfsim, beat=True,
        env={"SALESFORCE_SYNC_INTERVAL_SECONDS": "2", "SALESFORCE_SYNC_BUFFER_SECONDS": "0"},
    ) as procs:
        deadline = time.monotonic() + WAIT_SECONDS
        records = []
        while time.monotonic() < deadline and not records:
            assert procs.alive(), procs.dump()
            records = sim.records("ThankView__c")
            time.sleep(0.5)
        assert records, f"no record after {WAIT_SECONDS}s\n" + procs.dump()
        [rec] = records
        assert rec["Contact__c"] == cid and rec["Opened__c"] is True
        # Recorded by the worker in the shared database, as a beat-triggered run.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            record = send.salesforce_records.filter(record_id=rec["Id"]).first()
            if record is not None:
                break
            time.sleep(0.2)
        assert record is not None and record.status == "synced"
        assert sync_conn.portal.sync_runs.filter(trigger="beat").exists()
