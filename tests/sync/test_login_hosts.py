"""Login hosts: every documented My Domain form is accepted, anything else refused, and a
connection whose identity URL stays on the login host while ``instance_url`` is the org's own
host connects, syncs and refreshes against the right host each time."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.sync.conftest import record_of, run_sync

pytestmark = pytest.mark.django_db

ACCEPTED = [
    ("https://acme.my.salesforce.com", "https://acme.my.salesforce.com"),
    ("https://Acme--UAT.sandbox.my.salesforce.com/", "https://acme--uat.sandbox.my.salesforce.com"),
    ("https://acme-dev-ed.develop.my.salesforce.com", "https://acme-dev-ed.develop.my.salesforce.com"),
    ("https://site-force-1234-dev-ed.scratch.my.salesforce.com", "https://site-force-1234-dev-ed.scratch.my.salesforce.com"),
    ("https://brave-otter-abc123.trailblaze.my.salesforce.com", "https://brave-otter-abc123.trailblaze.my.salesforce.com"),
    ("https://acme.demo.my.salesforce.com", "https://acme.demo.my.salesforce.com"),
    ("https://acme--patch1.patch.my.salesforce.com:443", "https://acme--patch1.patch.my.salesforce.com"),
]
REFUSED = [
    "https://acme.sandbox.my.salesforce.com",  # a sandbox host always names its sandbox after --
    "https://acme.uat.my.salesforce.com",  # not a partition
    "https://acme.my.salesforce.mil",  # not in the Salesforce docs we could find
    "https://acme.my.salesforce.com.evil.io",
    "https://my.salesforce.com",
    "https://-acme.my.salesforce.com",
    "https://acme.my.salesforce.com:8443",
    "https://acme.lightning.force.com",
    "https://login.salesforce.com.evil.io",
]


@pytest.mark.parametrize("url, host", ACCEPTED)
def test_every_documented_mydomain_form_starts_a_connect(client_admin_a, portal_a, sf_settings, url, host):
    resp = client_admin_a.post(
        reverse("integrations:salesforce_connect", args=[portal_a.slug]), {"environment": "mydomain", "mydomain_url": url}
    )
    assert resp.status_code == 302
    assert resp["Location"].startswith(f"{host}/services/oauth2/authorize?")


@pytest.mark.parametrize("url", REFUSED)
def test_other_hosts_are_refused_with_a_field_error(client_admin_a, portal_a, sf_settings, url):
    resp = client_admin_a.post(
        reverse("integrations:salesforce_connect", args=[portal_a.slug]), {"environment": "mydomain", "mydomain_url": url}
    )
    assert resp.status_code == 400
    page = resp.content.decode()
    assert 'aria-invalid="true"' in page and "That is not a Salesforce My Domain URL" in page
    assert "salesforce_oauth_states" not in client_admin_a.session


def test_a_path_after_the_host_is_refused(client_admin_a, portal_a, sf_settings):
    resp = client_admin_a.post(
        reverse("integrations:salesforce_connect", args=[portal_a.slug]),
        {"environment": "mydomain", "mydomain_url": "https://evil.io/acme.my.salesforce.com"},
    )
    assert resp.status_code == 400 and "Enter only the My Domain address" in resp.content.decode()


def test_identity_on_the_login_host_and_rest_on_the_instance_host(
    client_admin_a, portal_a, sf_connect, sim, sfsim, make_send
):
    from integrations.salesforce import support

    sim.config(instance_host="localhost")  # the org's own host differs from the login host
    instance = f"https://localhost:{sfsim.port}"
    conn = sf_connect(client_admin_a, portal_a)
    assert (conn.status, conn.login_url, conn.instance_url) == ("connected", sfsim.url, instance)
    assert conn.username == "admin@sfsim.example"  # read from the identity URL on the login host
    page = client_admin_a.get(reverse("integrations:salesforce_settings", args=[portal_a.slug])).content.decode()
    assert "admin@sfsim.example" in page

    support.sync_enable(connection=conn)
    type(conn).objects.filter(pk=conn.pk).update(sync_enabled_at=timezone.now() - timedelta(days=10))
    [cid] = sim.seed("Contact", [{"LastName": "Doe", "Email": "jane@x.org"}])
    send = make_send(email="jane@x.org", events=["opened"])
    sim.fault("expire_sessions")  # the run must refresh at the login host, then call the instance again
    sim.reset_stats()
    run = run_sync(portal_a)
    assert (run.created, run.failed) == (1, 0)
    [rec] = sim.records("ThankView__c")
    assert rec["Contact__c"] == cid and rec["Opened__c"] is True
    assert record_of(send).record_id == rec["Id"]
    log = sim.stats()["log"]
    assert [e["status"] for e in log if e["kind"] == "oauth_token"] == [200]
    # One refused call (the expired session), then every REST call answered on the instance host.
    assert [e["status"] for e in log if e["status"] >= 400] == [401]
    conn.refresh_from_db()
    assert (conn.status, conn.instance_url, conn.error_kind) == ("connected", instance, "")
