"""Item 6: every failure with its banner, and nothing lost (what was not written stays due)."""

import pytest
from django.urls import reverse

from tests.sync.conftest import record_of, run_sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_sends(sync_conn, sim, make_send):
    sim.seed("Contact", [{"LastName": "A", "Email": "a@x.org"}, {"LastName": "B", "Email": "b@x.org"}])
    return [make_send(email="a@x.org"), make_send(email="b@x.org")]


def writes(sim):
    return [c for c in sim.stats()["log"] if "composite/sobjects" in c["path"]]


def banner_kind(conn):
    conn.refresh_from_db()
    return conn.error_kind


def assert_nothing_lost_then_recovers(sim, portal, sends):
    assert not sim.records("ThankView__c")
    for s in sends:
        assert not s.salesforce_records.exclude(record_id="").exists()
    sim.clear_faults()
    run = run_sync(portal)
    assert run.created == len(sends), (run.outcome, run.error_message)
    assert len(sim.records("ThankView__c")) == len(sends)


def test_expired_session_is_refreshed_once_and_the_run_completes(sync_conn, sim, two_sends, portal_a):
    sim.fault("expire_sessions")
    run = run_sync(portal_a)
    assert run.outcome == "ok" and run.created == 2
    assert banner_kind(sync_conn) == ""


def test_refresh_refused_marks_expired_and_stops_calling(sync_conn, sim, two_sends, portal_a, client_admin_a):
    from integrations.salesforce.run import sync_portal_run

    sim.fault("revoke_refresh_tokens")
    run = run_sync(portal_a)
    assert run.outcome == "session_expired"
    sync_conn.refresh_from_db()
    assert sync_conn.status == "expired" and sync_conn.error_kind == "session_expired"
    assert not writes(sim)
    html = client_admin_a.get(reverse("integrations:sync_health", args=[portal_a.slug])).content.decode()
    assert "Session or Connection Expired" in html
    # No retry storm: until Reconnect, the sync does not call Salesforce at all.
    sim.reset_stats()
    result = sync_portal_run(portal=portal_a)
    assert result.run is None and result.skipped == "expired"
    assert sim.stats()["api_calls"] == 0
    for s in two_sends:
        assert not s.salesforce_records.exclude(record_id="").exists()


def test_api_disabled_raises_permissions_banner_and_loses_nothing(sync_conn, sim, two_sends, portal_a):
    sim.fault("api_disabled")
    run = run_sync(portal_a)
    assert run.outcome == "permissions" and run.error_code == "API_DISABLED_FOR_ORG"
    assert banner_kind(sync_conn) == "permissions"
    assert_nothing_lost_then_recovers(sim, portal_a, two_sends)
    assert banner_kind(sync_conn) == ""


def test_no_access_to_the_object_stops_before_writing(sync_conn, sim, two_sends, portal_a):
    sim.fault("no_access")
    run = run_sync(portal_a)
    assert run.outcome == "permissions"
    assert banner_kind(sync_conn) == "permissions"
    assert not writes(sim)
    assert_nothing_lost_then_recovers(sim, portal_a, two_sends)


def test_request_limit_exceeded_stops_cleanly_and_resumes(sync_conn, sim, two_sends, portal_a):
    sim.fault("request_limit")
    run = run_sync(portal_a)
    assert run.outcome == "rate_limited" and run.error_code == "REQUEST_LIMIT_EXCEEDED"
    assert run.finished_at is not None
    assert_nothing_lost_then_recovers(sim, portal_a, two_sends)


def test_api_reserve_stops_before_writing_and_says_why(sync_conn, sim, two_sends, portal_a, settings):
    settings.SALESFORCE_API_RESERVE_PERCENT = 10
    sim.limits(used=895, max=1000)  # 105 left; 100 is the reserve; one batch needs up to 10
    run = run_sync(portal_a)
    assert run.outcome == "api_reserve"
    assert "reserve" in run.error_message and "10%" in run.error_message
    assert not writes(sim)
    sim.limits(used=0, max=1000)
    assert_nothing_lost_then_recovers(sim, portal_a, two_sends)


def test_unavailable_retries_then_unable_to_connect_banner(sync_conn, sim, two_sends, portal_a, client_admin_a):
    sim.fault("unavailable")
    run = run_sync(portal_a)
    assert run.outcome == "unavailable"
    assert banner_kind(sync_conn) == "connection"
    html = client_admin_a.get(reverse("integrations:sync_health", args=[portal_a.slug])).content.decode()
    assert "Unable to Connect to Salesforce" in html
    assert_nothing_lost_then_recovers(sim, portal_a, two_sends)
    assert banner_kind(sync_conn) == ""


def test_transient_unavailable_is_retried_within_the_run(sync_conn, sim, two_sends, portal_a):
    sim.fault("unavailable", count=1)
    run = run_sync(portal_a)
    assert run.outcome == "ok" and run.created == 2


def test_preflight_deleted_mapped_field_writes_nothing(sync_conn, sim, two_sends, portal_a, client_admin_a):
    sim.remove_field("ThankView__c", "Bounced__c")
    run = run_sync(portal_a)
    assert run.outcome == "mapping_error" and run.due == 0
    assert not writes(sim)
    sync_conn.refresh_from_db()
    assert sync_conn.error_kind == "mapping" and "Bounced__c" in sync_conn.error_detail.get("fields", [])
    html = client_admin_a.get(reverse("integrations:sync_health", args=[portal_a.slug])).content.decode()
    assert "Mapping Error" in html and "Bounced__c" in html
    # The admin removes the mapping: the next run writes everything.
    from integrations.models import FieldMapping

    FieldMapping.objects.filter(portal=portal_a, target_field="Bounced__c").update(enabled=False)
    run = run_sync(portal_a)
    assert run.outcome == "ok" and run.created == 2
    assert banner_kind(sync_conn) == ""


def test_preflight_newly_required_field_writes_nothing(sync_conn, sim, two_sends, portal_a):
    sim.add_field("ThankView__c", "Donor_ID__c", "string", required=True)  # newly required, unmapped
    run = run_sync(portal_a)
    assert run.outcome == "mapping_error"
    assert "Donor_ID__c" in run.error_message
    assert not writes(sim)
    assert banner_kind(sync_conn) == "mapping"
    for s in two_sends:
        assert not s.salesforce_records.exclude(record_id="").exists()


def test_row_lock_on_every_record_keeps_them_due(sync_conn, sim, two_sends, portal_a):
    """UNABLE_TO_LOCK_ROW per record (after the client's retries): stored, retried next run."""
    sim.fault("unlock_row")
    run = run_sync(portal_a)
    assert run.failed == 2 and run.created == 0
    assert {record_of(s).error_code for s in two_sends} == {"UNABLE_TO_LOCK_ROW"}
    assert_nothing_lost_then_recovers(sim, portal_a, two_sends)
