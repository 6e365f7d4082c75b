"""One sync in the strictest org sfsim can be (sfsim.lockdown.STRICT_ORG: no View Setup,
Views__c read-only, a Text Name, rotating refresh tokens, five approvals, private sharing with
one hidden Contact): what it writes, what it leaves, and that it raises no banner."""

import pytest
from django.urls import reverse

from integrations.models import SalesforceConnection
from integrations.salesforce.connection import connection_checklist
from sfsim.lockdown import HIDDEN_CONTACT
from tests.sync.conftest import record_of, run_sync

pytestmark = pytest.mark.django_db


def test_a_sync_in_the_strictest_org(sync_conn, sim, make_send, portal_a, client_admin_a):
    sim.strict_org()
    [jane] = sim.seed("Contact", [{"FirstName": "Jane", "LastName": "Doe", "Email": "jane@x.org"}])
    sim.seed("Lead", [{"LastName": "Lee", "Company": "Acme", "Email": "lead@x.org"}])
    [hidden] = [r["Id"] for r in sim.records("Contact") if r["Email"] == HIDDEN_CONTACT["Email"]]
    sends = {
        "jane": make_send(email="jane@x.org", events=["opened", "started_watching"]),
        "lead": make_send(email="lead@x.org", events=["clicked"]),
        "hidden_by_email": make_send(email=HIDDEN_CONTACT["Email"], events=["opened"]),
        "hidden_by_donor_id": make_send(email="other@x.org", donor_id=hidden),
    }
    sim.fault("expire_sessions")  # the first call refreshes: under rotation the token changes
    old_refresh = SalesforceConnection.objects.get(pk=sync_conn.pk).refresh_token
    sim.reset_stats()
    run = run_sync(portal_a)

    assert (run.outcome, run.created, run.updated, run.unmatched, run.failed) == ("ok", 2, 0, 2, 0)
    kinds = [c["kind"] for c in sim.stats()["log"]]
    assert "limits" not in kinds
    records = {r["Id"]: r for r in sim.records("ThankView__c")}
    janes = records[record_of(sends["jane"]).record_id]
    assert janes["Contact__c"] == jane and janes["Name"] == "Spring Thank You - " + sends["jane"].contact.email
    assert janes["Opened__c"] is True and janes["Started_Watching__c"] is True and janes["Views__c"] is None
    assert records[record_of(sends["lead"]).record_id]["Lead__c"]
    # The Contact sharing hides is never matched, by email or by Donor ID: not written.
    for key in ("hidden_by_email", "hidden_by_donor_id"):
        assert record_of(sends[key]).status == "unmatched"
    assert all(r["Contact__c"] != hidden for r in records.values())

    conn = SalesforceConnection.objects.get(pk=sync_conn.pk)
    assert (conn.status, conn.error_kind) == ("connected", "")
    assert conn.refresh_token != old_refresh  # the rotated token was stored
    items = {i.key: i for i in connection_checklist(conn).items}
    assert items["field:Views__c"].status == "warn" and items["name"].status == "ok"
    html = client_admin_a.get(reverse("integrations:sync_health", args=[portal_a.slug])).content.decode()
    for title in ("Insufficient Permissions", "Mapping Error", "Session or Connection Expired", "Unable to Connect"):
        assert title not in html

    # The next run: nothing due twice, nothing written twice.
    again = run_sync(portal_a)
    assert (again.created, again.updated) == (0, 0) and len(sim.records("ThankView__c")) == 2
