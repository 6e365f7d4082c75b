"""API budget: a run stops at the portal's cap and resumes in a later cycle;
the admin's re-sync asks for confirmation with the estimated API calls and the org's remaining
allocation; the settings page shows the usage. Real sfsim over HTTPS."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from engagement.models import Send
from integrations.models import ResyncRequest, SalesforceConnection, SalesforceRecord, SyncRun
from integrations.salesforce import estimate

from .conftest import run_sync

pytestmark = pytest.mark.django_db


def _people(sim, n):
    sim.seed("Contact", [{"LastName": f"D{i}", "Email": f"d{i}@x.org"} for i in range(n)])


def test_run_stops_at_the_portal_cap_and_resumes_next_cycle(sync_conn, sim, make_send, portal_a, settings):
    settings.SALESFORCE_BULK_THRESHOLD = 10_000
    settings.SALESFORCE_API_RESERVE_PERCENT = 0
    SalesforceConnection.objects.filter(pk=sync_conn.pk).update(api_cap_percent=50)
    sim.limits(used=0, max=1000)  # cap: 50% of 1,000 = 500 calls per 24 h
    _people(sim, 250)
    sends = [make_send(email=f"d{i}@x.org", events=["opened"]) for i in range(250)]
    # Earlier runs of this portal today used 488 calls: after the describe, 11 are left,
    # enough for one batch (allowance 10) but not for a second (the batch takes 2).
    earlier = SyncRun.objects.create(
        portal=portal_a, org_id=sync_conn.org_id, started_at=timezone.now() - timedelta(hours=3),
        cutoff=timezone.now() - timedelta(hours=4), outcome="ok", api_calls=488,
    )
    run = run_sync(portal_a)
    assert run.outcome == "api_cap" and run.error_code == "PORTAL_API_CAP"
    assert "50% of the org's 1,000 daily requests is 500 calls" in run.error_message
    assert "488" in run.error_message
    assert run.created == 200  # the first batch, then the stop
    assert len(sim.records("ThankView__c")) == 200
    written = SalesforceRecord.objects.filter(send__in=sends, org_id=sync_conn.org_id).exclude(record_id="").count()
    assert written == 200
    assert run.api_calls <= 500 - 488

    # Still within 24 h of the earlier runs: the next cycle stops at once, writing nothing.
    again = run_sync(portal_a)
    assert again.outcome == "api_cap" and again.created == 0 and len(sim.records("ThankView__c")) == 200

    # A day later the earlier runs are out of the window: the next cycle resumes.
    SyncRun.objects.filter(pk__in=[earlier.pk, run.pk, again.pk]).update(started_at=timezone.now() - timedelta(hours=25))
    resumed = run_sync(portal_a)
    assert resumed.outcome == "ok" and resumed.created == 50
    assert len(sim.records("ThankView__c")) == 250  # each send exactly once


def test_other_portals_runs_do_not_count_against_this_portals_cap(sync_conn, sim, make_send, portal_a, portal_b, settings):
    settings.SALESFORCE_API_RESERVE_PERCENT = 0
    sim.limits(used=0, max=1000)
    SyncRun.objects.create(portal=portal_b, org_id=sync_conn.org_id, cutoff=timezone.now(), outcome="ok", api_calls=900)
    _people(sim, 1)
    make_send(email="d0@x.org", events=["opened"])
    run = run_sync(portal_a)
    assert run.outcome == "ok" and run.created == 1


def test_run_stops_at_the_org_reserve_with_its_own_reason(sync_conn, sim, make_send, portal_a, settings):
    settings.SALESFORCE_API_RESERVE_PERCENT = 10
    sim.limits(used=895, max=1000)
    _people(sim, 1)
    make_send(email="d0@x.org", events=["opened"])
    run = run_sync(portal_a)
    assert run.outcome == "api_reserve" and "10%" in run.error_message and run.created == 0
    assert sim.records("ThankView__c") == []


def _plans(n, *, known=0, donor_id=""):
    return [
        estimate.SendPlan(contact_id=i, donor_id=donor_id, email=f"p{i}@x.org", known=i < known, needs_match=i >= known,
                          lead_linked=False, outcome_unknown=False)
        for i in range(n)
    ]


def test_estimate_collections_and_bulk_follow_the_threshold(settings):
    settings.SALESFORCE_BULK_THRESHOLD = 2000
    small = estimate.estimate_calls(_plans(150, known=150))
    assert small.path == "collections" and small.calls == 1 + 1  # the describe (a run never asks /limits), one collection call
    # Two batches to match by email: per batch Contact by email, then Lead by email; one create each.
    fresh = estimate.estimate_calls(_plans(400))
    assert fresh.path == "collections" and fresh.calls == 1 + 2 * 2 + 2
    # With Donor IDs: per batch the Donor ID lookup (the call the old formula missed), then
    # the holders' emails on Contacts and on Leads.
    donors = estimate.estimate_calls(_plans(400, donor_id="003000000000001AAA"))
    assert donors.matching == 2 * 3 and donors.calls == 1 + 6 + 2
    big = estimate.estimate_calls(_plans(100_000, known=100_000))
    assert big.path == "bulk" and big.calls == 1 + 5 + 3 + 10  # one update job: 5 calls, 3 + 10 polls
    assert estimate.estimate_calls(_plans(2000, known=2000)).path == "collections"
    assert estimate.estimate_calls(_plans(2001, known=2001)).path == "bulk"


def test_admin_resync_asks_for_confirmation_with_estimate_and_remaining_allocation(
    sync_conn, sim, make_send, campaign_a, portal_a, client, settings
):
    from tests.factories import UserFactory

    settings.SALESFORCE_BULK_THRESHOLD = 2000
    sim.limits(used=1234, max=15000)
    support = UserFactory(email="support@thankview.example", is_staff=True, is_superuser=True)
    client.force_login(support)
    sends = [make_send(email=f"d{i}@x.org") for i in range(3)]
    url = reverse("admin:engagement_campaign_changelist")

    sim.reset_stats()
    resp = client.post(url, {"action": "resync_campaigns", "_selected_action": [campaign_a.pk]})
    assert resp.status_code == 200
    page = resp.content.decode()
    assert "Re-sync campaigns to Salesforce?" in page
    expected = estimate.connection_estimate(connection=sync_conn, sends=Send.objects.filter(campaign=campaign_a))
    assert f"<strong>{expected.calls}</strong> via sObject Collections" in page
    # /limits answered 15,000 - 1,234 - this call itself (it counts against the allocation); in
    # an org whose user lacks View Setup it is refused, and its answer's Sforce-Limit-Info
    # says the same 1,235 used.
    limits = sim.stats()
    assert '<td data-testid="remaining">13,765 of 15,000 ' in page
    assert [c["path"] for c in limits["log"]] == [f"/services/data/v{settings.SALESFORCE_API_VERSION}/limits/"]
    assert "50% = 7,500 calls per 24 h" in page
    assert 'name="confirm" value="yes"' in page and "csrfmiddlewaretoken" in page
    # Nothing is marked due before the confirmation.
    assert not SalesforceRecord.objects.filter(send__in=sends, resync_requested_at__isnull=False).exists()
    assert not ResyncRequest.objects.exists()
    assert limits["api_calls"] == 1  # the /limits call, nothing else

    resp = client.post(url, {"action": "resync_campaigns", "_selected_action": [campaign_a.pk], "confirm": "yes"})
    assert resp.status_code == 302
    assert SalesforceRecord.objects.filter(send__in=sends, resync_requested_at__isnull=False).count() == 3
    req = ResyncRequest.objects.get()
    assert req.total == 3 and req.campaign == campaign_a and req.requested_by == support


def test_admin_resync_estimate_switches_to_bulk_over_the_threshold(sync_conn, sim, make_send, campaign_a, client, settings):
    from tests.factories import UserFactory

    settings.SALESFORCE_BULK_THRESHOLD = 2
    client.force_login(UserFactory(email="s2@thankview.example", is_staff=True, is_superuser=True))
    for i in range(3):
        make_send(email=f"d{i}@x.org")
    resp = client.post(reverse("admin:engagement_campaign_changelist"), {"action": "resync_campaigns", "_selected_action": [campaign_a.pk]})
    expected = estimate.connection_estimate(connection=sync_conn, sends=Send.objects.filter(campaign=campaign_a))
    assert expected.path == "bulk"
    assert f"<strong>{expected.calls}</strong> via Bulk API 2.0" in resp.content.decode()


def test_admin_resync_of_an_unconnected_portal_says_so(portal_b, client):
    from engagement.models import Campaign
    from tests.factories import UserFactory

    client.force_login(UserFactory(email="s3@thankview.example", is_staff=True, is_superuser=True))
    c = Campaign.objects.create(portal=portal_b, name="B", video_url="https://v.example.org/b.mp4")
    resp = client.post(reverse("admin:engagement_campaign_changelist"), {"action": "resync_campaigns", "_selected_action": [c.pk]})
    assert resp.status_code == 200 and "Not connected to Salesforce" in resp.content.decode()


def test_settings_page_shows_usage_limits_and_the_portals_share(sync_conn, sim, make_send, portal_a, client_admin_a, settings):
    settings.SALESFORCE_API_RESERVE_PERCENT = 0
    sim.limits(used=100, max=15000)
    sim.seed("Contact", [{"LastName": "D", "Email": "d0@x.org"}])
    make_send(email="d0@x.org", events=["opened"])
    run = run_sync(portal_a)
    page = client_admin_a.get(reverse("integrations:salesforce_settings", args=[portal_a.slug])).content.decode()
    conn = SalesforceConnection.objects.get(pk=sync_conn.pk)
    assert f"{conn.api_usage_used:,} of 15,000 daily API requests used" in page  # Sforce-Limit-Info
    # A run never reads /limits: the daily figure is the last call's Sforce-Limit-Info.
    assert f"{15000 - conn.api_usage_used:,} of 15,000 API requests left (as of the last call)" in page
    assert "Salesforce /limits" not in page
    assert f"The sync used {run.api_calls} API calls in the last 24 hours" in page
    assert "50% of the org's daily requests (7,500 calls)" in page


def test_admin_can_set_the_portal_cap(sync_conn, client):
    from tests.factories import UserFactory

    client.force_login(UserFactory(email="s4@thankview.example", is_staff=True, is_superuser=True))
    url = reverse("admin:integrations_salesforceconnection_change", args=[sync_conn.pk])
    page = client.get(url).content.decode()
    assert 'value="set_api_cap"' in page  # the action that changes it, behind its confirmation page
