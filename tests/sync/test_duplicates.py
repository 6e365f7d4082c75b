"""Item 5: never a duplicate ThankView__c, even when Salesforce commits and the answer is lost."""

from collections import Counter

import pytest

from tests.sync.conftest import record_of, run_sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def sends_250(sync_conn, sim, make_send):
    sim.seed("Contact", [{"LastName": f"D{i}", "Email": f"d{i}@x.org"} for i in range(250)])
    return [make_send(email=f"d{i}@x.org") for i in range(250)]


def assert_one_record_per_send(sim, sends):
    live = [r for r in sim.records("ThankView__c") if not r.get("IsDeleted")]
    assert len(live) == len(sends)
    ids = [record_of(s).record_id for s in sends]
    assert all(ids) and len(set(ids)) == len(sends)
    assert set(ids) == {r["Id"] for r in live}
    # One record per (contact, campaign, sent date): the natural key never repeats.
    keys = Counter((r["Contact__c"], r["Event_Name__c"], r["Sent_Date__c"]) for r in live)
    assert max(keys.values()) == 1


def test_dropped_answer_after_commit_then_rerun_adopts_without_external_id(sync_conn, sim, sends_250, portal_a):
    sim.fault("drop_after_commit", count=1)
    run = run_sync(portal_a)
    assert run.outcome == "unavailable"  # the create's outcome was unknown: stop, look next time
    assert len(sim.records("ThankView__c")) == 200  # Salesforce did commit the first call
    pending = [record_of(s) for s in sends_250[:200]]
    assert all(r.attempt_marker and not r.record_id for r in pending)

    run = run_sync(portal_a)
    assert run.outcome == "ok", run.error_message
    assert run.adopted == 200 and run.created == 50
    assert_one_record_per_send(sim, sends_250)
    assert not any(record_of(s).attempt_marker for s in sends_250)


def test_dropped_answer_with_send_id_external_id_upserts(sync_conn, sim, sends_250, portal_a):
    sim.add_field("ThankView__c", "Send_Id__c", "string", external_id=True, unique=True)
    sim.fault("drop_after_commit", count=1)
    run = run_sync(portal_a)
    # The upsert is idempotent, so the client may retry it at once; either way no duplicate.
    run2 = run_sync(portal_a)
    assert run2.outcome == "ok"
    assert_one_record_per_send(sim, sends_250)
    by_send_id = Counter(r["Send_Id__c"] for r in sim.records("ThankView__c"))
    assert len(by_send_id) == 250 and max(by_send_id.values()) == 1
    assert run.created + run2.created <= 250


def test_rerunning_a_completed_run_writes_nothing_new(sync_conn, sim, sends_250, portal_a):
    run_sync(portal_a)
    sim.reset_stats()
    run = run_sync(portal_a)
    assert run.due == 0 and run.created == 0
    assert not [c for c in sim.stats()["log"] if "composite/sobjects" in c["path"]]
    assert_one_record_per_send(sim, sends_250)
