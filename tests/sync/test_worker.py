"""A real Celery worker and beat (subprocesses) against the real Redis broker: with a short
interval, a send reaches the simulator without any manual call."""

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

BROKER = os.environ.get("SYNC_TEST_BROKER_URL", "redis://127.0.0.1:6379/4")
WAIT_SECONDS = 90


def _db_url():
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def test_beat_and_worker_sync_a_send_without_a_manual_call(sync_conn, sim, sfsim, make_send, tmp_path):
    import redis

    redis.Redis.from_url(BROKER).flushdb()  # our own db number: no stale messages
    [cid] = sim.seed("Contact", [{"LastName": "Doe", "Email": "jane@x.org"}])
    send = make_send(email="jane@x.org", sent_at=timezone.now() - timedelta(minutes=1), events=["opened"])

    env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    env.update(
        DJANGO_SETTINGS_MODULE="thankview.test_settings",
        DATABASE_URL=_db_url(),
        CONN_MAX_AGE="0",
        CELERY_BROKER_URL=BROKER,
        CELERY_TASK_ALWAYS_EAGER="false",
        SALESFORCE_SYNC_INTERVAL_SECONDS="2",
        SALESFORCE_SYNC_BUFFER_SECONDS="0",
        SALESFORCE_SIMULATOR_URL=sfsim.url,
        SALESFORCE_CA_BUNDLE=sfsim.ca_path,
    )
    celery = [sys.executable, "-m", "celery", "-A", "thankview"]
    logs = {name: open(tmp_path / f"{name}.log", "w+") for name in ("worker", "beat")}  # noqa: SIM115 (closed in finally)
    procs = [
        subprocess.Popen(
            [*celery, "worker", "--pool=solo", "--without-gossip", "--without-mingle", "--loglevel=INFO"],
            env=env, stdout=logs["worker"], stderr=subprocess.STDOUT, cwd=settings.BASE_DIR,
        ),
        subprocess.Popen(
            [*celery, "beat", "--loglevel=INFO", "--max-interval=1", f"--pidfile={tmp_path / 'beat.pid'}"],
            env=env, stdout=logs["beat"], stderr=subprocess.STDOUT, cwd=settings.BASE_DIR,
        ),
    ]
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        records = []
        while time.monotonic() < deadline and not records:
            assert all(p.poll() is None for p in procs), _dump(logs)
            records = sim.records("ThankView__c")
            time.sleep(0.5)
        assert records, f"no record after {WAIT_SECONDS}s\n" + _dump(logs)
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
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        for f in logs.values():
            f.close()


def _dump(logs):
    out = []
    for name, f in logs.items():
        f.flush()
        f.seek(0)
        out.append(f"--- {name} ---\n{f.read()[-4000:]}")
    return "\n".join(out)
