"""The API budget without /limits: an integration user without View Setup and Configuration
is refused /limits, yet the sync runs, keeps the org reserve and the portal cap from the
Sforce-Limit-Info header of every answer, and raises no banner. Real sfsim over HTTPS."""

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import SalesforceConnection, SyncRun
from integrations.salesforce import budget
from integrations.salesforce.client import SalesforceClient
from tests.sync.conftest import record_of, run_sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_view_setup(sim):
    sim.config(view_setup=False)
    return sim


def calls_of(sim, kind):
    return [c for c in sim.stats()["log"] if c["kind"] == kind]


def test_sync_without_view_setup_writes_and_never_asks_limits(sync_conn, no_view_setup, make_send, portal_a, client_admin_a):
    sim = no_view_setup
    sim.seed("Contact", [{"LastName": "A", "Email": "a@x.org"}])
    send = make_send(email="a@x.org", events=["opened"])
    sim.limits(used=100, max=15000)
    sim.reset_stats()
    run = run_sync(portal_a)
    assert (run.outcome, run.created, run.failed) == ("ok", 1, 0)
    assert calls_of(sim, "limits") == []
    [rec] = sim.records("ThankView__c")
    assert rec["Opened__c"] is True and record_of(send).record_id == rec["Id"]
    # The usage is the last answer's header: 100 before the run, plus the run's own calls.
    conn = SalesforceConnection.objects.get(pk=sync_conn.pk)
    assert (conn.error_kind, conn.api_usage_used, conn.api_usage_max) == ("", 100 + run.api_calls, 15000)
    assert (run.api_remaining, run.api_max) == (15000 - 100 - run.api_calls, 15000)
    html = client_admin_a.get(reverse("integrations:sync_health", args=[portal_a.slug])).content.decode()
    assert "Insufficient Permissions" not in html


def test_org_reserve_from_the_header_stops_and_resumes_without_limits(sync_conn, no_view_setup, make_send, portal_a, settings):
    sim = no_view_setup
    settings.SALESFORCE_API_RESERVE_PERCENT = 10
    sim.seed("Contact", [{"LastName": "A", "Email": "a@x.org"}, {"LastName": "B", "Email": "b@x.org"}])
    sends = [make_send(email="a@x.org"), make_send(email="b@x.org")]
    sim.limits(used=895, max=1000)  # the describe makes it 896: 104 left, 100 is the reserve, a batch needs 10
    sim.reset_stats()
    run = run_sync(portal_a)
    assert run.outcome == "api_reserve" and run.error_code == "API_RESERVE"
    assert "Stopped to keep 10% of the org's daily API requests in reserve (104 of 1,000 were left" in run.error_message
    assert [c["kind"] for c in sim.stats()["log"]] == ["describe"]  # no /limits, no write
    assert sim.records("ThankView__c") == []
    sync_conn.refresh_from_db()
    assert sync_conn.error_kind == ""
    sim.limits(used=0, max=1000)
    again = run_sync(portal_a)
    assert (again.outcome, again.created) == ("ok", 2)
    assert sorted(r["Id"] for r in sim.records("ThankView__c")) == sorted(record_of(s).record_id for s in sends)


def test_budget_before_the_first_call_is_the_last_known_figure(sync_conn, sim, portal_a, settings):
    settings.SALESFORCE_API_RESERVE_PERCENT = 10
    SalesforceConnection.objects.filter(pk=sync_conn.pk).update(api_usage_used=880, api_usage_max=1000)
    sync_conn.refresh_from_db()
    client = SalesforceClient(sync_conn)
    run = SyncRun.objects.create(portal=portal_a, org_id=sync_conn.org_id, cutoff=timezone.now())
    sim.reset_stats()
    known = budget.run_budget_start(client=client, run=run, check=False)
    assert (known.maximum, known.remaining, known.reserve_left) == (1000, 120, 20)
    assert (run.api_remaining, run.api_max) == (120, 1000)
    with pytest.raises(budget.BudgetReached):  # 20 left before the reserve; need is 10 per batch
        known.check(calls=11)
    assert sim.stats()["api_calls"] == 0  # all of it without asking Salesforce


def test_a_newer_header_moves_the_reserve_with_other_clients_usage(sync_conn, portal_a, settings):
    settings.SALESFORCE_API_RESERVE_PERCENT = 10
    b = budget.run_budget(connection=sync_conn, figures=(1000, 500), calls_so_far=1)
    assert b.reserve_left == 400
    b.check(calls=5, usage=(505, 1000))  # our 4 calls: 395 left before the reserve
    assert b.left == 395
    with pytest.raises(budget.BudgetReached) as exc:  # another integration used 390 meanwhile
        b.check(calls=6, usage=(896, 1000))
    assert exc.value.code == "API_RESERVE"


def test_resync_estimate_without_view_setup_reads_the_header(sync_conn, no_view_setup, make_send, campaign_a, client, settings):
    from tests.factories import UserFactory

    sim = no_view_setup
    sim.limits(used=1234, max=15000)
    client.force_login(UserFactory(email="support@thankview.example", is_staff=True, is_superuser=True))
    make_send(email="d0@x.org")
    sim.reset_stats()
    resp = client.post(reverse("admin:engagement_campaign_changelist"),
                       {"action": "resync_campaigns", "_selected_action": [campaign_a.pk]})
    page = resp.content.decode()
    assert resp.status_code == 200
    # The refused /limits call counted and told the usage: 1,235 used.
    assert '<td data-testid="remaining">13,765 of 15,000 ' in page
    assert "live from Salesforce (Sforce-Limit-Info)" in page
    assert [(c["kind"], c["status"]) for c in sim.stats()["log"]] == [("limits", 403)]
    sync_conn.refresh_from_db()
    assert (sync_conn.error_kind, sync_conn.api_usage_used) == ("", 1235)
