"""Two concurrent runs of one portal: one runs, the other returns at once (advisory lock).
Threads with their own database connections, so the lock is real PostgreSQL."""

import threading

import pytest
from django.db import connection

from integrations.salesforce.run import sync_portal_run

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_concurrent_runs_of_one_portal_one_runs(sync_conn, sim, make_send, portal_a):
    from integrations.models import SyncRun

    sim.seed("Contact", [{"LastName": f"D{i}", "Email": f"d{i}@x.org"} for i in range(20)])
    for i in range(20):
        make_send(email=f"d{i}@x.org")
    sim.fault("latency", ms=300)  # keep the first run busy while the second starts
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            barrier.wait(timeout=10)
            results.append(sync_portal_run(portal=portal_a, trigger="test"))
        except Exception as e:
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert sorted(r.skipped for r in results) == ["", "locked"]
    assert SyncRun.objects.filter(portal=portal_a).count() == 1
    assert len(sim.records("ThankView__c")) == 20


def test_the_lock_is_per_portal(portal_a, portal_b):
    from integrations.salesforce.run import portal_lock

    seen = {}

    def other_worker():
        try:
            with portal_lock(portal_a.pk) as same:
                seen["same portal"] = same
            with portal_lock(portal_b.pk) as other:
                seen["other portal"] = other
        finally:
            connection.close()

    with portal_lock(portal_a.pk) as held:
        assert held
        t = threading.Thread(target=other_worker)
        t.start()
        t.join(timeout=10)
    assert seen == {"same portal": False, "other portal": True}
    with portal_lock(portal_a.pk) as again:  # released at the end of the block
        assert again
