"""Tokens in a real org: Reconnect revokes the token it replaces, portals sharing a Salesforce
user are warned about the five-approvals cap, concurrent refreshes under refresh-token rotation
never race, and a refused consumer key or secret is ThankView's problem, not the customer's."""

import html
import re
import threading

import pytest
import requests
from django.urls import reverse

from integrations.models import SalesforceConnection
from tests.integrations.conftest import callback_path
from tests.sync.conftest import record_of, run_sync

pytestmark = pytest.mark.django_db

NOTICE = "ThankView can't reach Salesforce right now; we're on it"


def token_call(sfsim, refresh_token, **over):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": "sfsim-client-id",
            "client_secret": "sfsim-client-secret", **over}
    return requests.post(f"{sfsim.url}/services/oauth2/token", data=data, verify=sfsim.ca_path, timeout=10)


def settings_page(client, portal):
    return html.unescape(client.get(reverse("integrations:salesforce_settings", args=[portal.slug])).content.decode())


def banner(page, kind):
    m = re.search(rf'<section class="banner[^"]*"[^>]*data-banner="{kind}">(.*?)</section>', page, re.S)
    return m.group(1) if m else None


# --- Reconnect and the five approvals -------------------------------------------------------


def test_reconnect_revokes_the_refresh_token_it_replaced(client_admin_a, connected_portal_a, sf_connect, sim, sfsim):
    old = connected_portal_a.salesforce_connection.refresh_token
    sim.reset_stats()
    conn = sf_connect(client_admin_a, connected_portal_a)
    assert conn.status == "connected" and conn.refresh_token != old
    assert [e["status"] for e in sim.stats()["log"] if e["kind"] == "oauth_revoke"] == [200]
    refused = token_call(sfsim, old)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert token_call(sfsim, conn.refresh_token).status_code == 200


def test_reconnecting_one_portal_never_pushes_another_out_of_the_five_approvals(
    client_admin_a, client_b, portal_a, portal_b, sf_connect, sim, sfsim
):
    sim.config(approvals_per_user=5)  # Salesforce's cap per user per connected app
    conn_a = sf_connect(client_admin_a, portal_a)
    for _ in range(5):
        conn_b = sf_connect(client_b, portal_b)
    assert token_call(sfsim, conn_a.refresh_token).status_code == 200
    assert token_call(sfsim, conn_b.refresh_token).status_code == 200


def test_portals_connected_as_one_salesforce_user_are_warned_on_their_settings_pages(
    client_admin_a, client_b, portal_a, portal_b, sf_connect
):
    sf_connect(client_admin_a, portal_a)
    assert 'data-testid="shared-user-warning"' not in settings_page(client_admin_a, portal_a)
    sf_connect(client_b, portal_b)
    warning = "1 other ThankView portal is connected as this Salesforce user."
    for client, portal in ((client_admin_a, portal_a), (client_b, portal_b)):
        page = settings_page(client, portal)
        assert warning in page and "a sixth silently ends the oldest" in page
    client_b.post(reverse("integrations:salesforce_disconnect", args=[portal_b.slug]))
    assert 'data-testid="shared-user-warning"' not in settings_page(client_admin_a, portal_a)


# --- refresh-token rotation: one refresh at a time per connection ----------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_under_rotation_run_one_grant_and_never_expire(
    client_admin_a, portal_a, sf_connect, sim, sfsim
):
    from django.db import connection as db_connection

    from integrations.salesforce.client import SalesforceClient

    sim.config(rotate_refresh_tokens=True)
    conn = sf_connect(client_admin_a, portal_a)
    sim.fault("expire_sessions")
    sim.reset_stats()
    workers = 6
    start = threading.Barrier(workers)
    answers, failures = [], []

    def work():
        try:
            client = SalesforceClient(SalesforceConnection.objects.get(pk=conn.pk))
            start.wait()
            answers.append(client.describe("ThankView__c")["name"])
        except Exception as e:  # noqa: BLE001 (collected and asserted below)
            failures.append(e)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert failures == [] and answers == ["ThankView__c"] * workers
    assert [e["status"] for e in sim.stats()["log"] if e["kind"] == "oauth_token"] == [200]
    conn.refresh_from_db()
    assert (conn.status, conn.error_kind) == ("connected", "")
    assert token_call(sfsim, conn.refresh_token).status_code == 200  # the stored token is the live one


def test_a_run_under_rotation_stores_each_new_refresh_token(sync_conn, sim, sfsim, make_send, portal_a):
    sim.config(rotate_refresh_tokens=True)
    [cid] = sim.seed("Contact", [{"LastName": "Doe", "Email": "jane@x.org"}])
    send = make_send(email="jane@x.org", events=["opened"])
    before = sync_conn.refresh_token
    sim.fault("expire_sessions")
    run = run_sync(portal_a)
    assert (run.created, run.failed) == (1, 0)
    sync_conn.refresh_from_db()
    assert sync_conn.status == "connected" and sync_conn.refresh_token != before
    assert token_call(sfsim, before).status_code == 400
    sim.fault("expire_sessions")
    send_two = make_send(email="jane@x.org", events=["opened"])
    run = run_sync(portal_a)
    assert (run.created, run.failed) == (1, 0)
    assert {record_of(send).contact_id, record_of(send_two).contact_id} == {cid}


# --- ThankView's consumer key or secret refused ----------------------------------------------


# A secret rotated at Salesforce and not yet in ThankView; a consumer key mistyped in ThankView.
BREAKAGES = {
    "invalid_client": ("SALESFORCE_CLIENT_SECRET", "rotated-secret", {"client_secret": "rotated-secret"}),
    "invalid_client_id": ("SALESFORCE_CLIENT_ID", "sfsim-client-id", {}),
}


@pytest.mark.parametrize("error", sorted(BREAKAGES))
def test_refused_app_credentials_are_ours_never_the_customers(
    sync_conn, sim, make_send, portal_a, admin_a, client_admin_a, settings, mailoutbox, caplog,
    django_capture_on_commit_callbacks, error,
):
    setting, fixed_value, sim_change = BREAKAGES[error]
    settings.ADMINS = [("ops", "ops@thankview.test")]
    [cid] = sim.seed("Contact", [{"LastName": "Doe", "Email": "jane@x.org"}])
    make_send(email="jane@x.org", events=["opened"])
    if sim_change:
        sim.config(**sim_change)
    else:
        setattr(settings, setting, "mistyped-key")
    sim.fault("expire_sessions")
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            run = run_sync(portal_a)
        assert (run.outcome, run.error_code, run.created) == ("unavailable", error, 0)
    sync_conn.refresh_from_db()
    assert (sync_conn.status, sync_conn.error_kind) == ("connected", "service")
    assert [m.to for m in mailoutbox] == [["ops@thankview.test"]]  # once, to the operators only
    assert error in mailoutbox[0].subject
    assert [r.levelname for r in caplog.records if "connected-app credentials" in r.getMessage()] == ["ERROR", "ERROR"]
    page = settings_page(client_admin_a, portal_a)
    notice = banner(page, "service")
    assert notice is not None and NOTICE in notice
    assert "Reconnect" not in notice and banner(page, "session_expired") is None
    assert sim.records("ThankView__c") == []

    setattr(settings, setting, fixed_value)  # operators fix the setting; nobody reconnects
    run = run_sync(portal_a)
    assert (run.outcome, run.created) == ("ok", 1)
    [rec] = sim.records("ThankView__c")
    assert rec["Contact__c"] == cid
    sync_conn.refresh_from_db()
    assert (sync_conn.status, sync_conn.error_kind) == ("connected", "")
    assert banner(settings_page(client_admin_a, portal_a), "service") is None


def test_connect_with_a_refused_secret_shows_the_neutral_notice_and_tells_operators(
    client_admin_a, portal_a, sf_start, sf_authorize, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.ADMINS = [("ops", "ops@thankview.test")]
    settings.SALESFORCE_CLIENT_SECRET = "stale-secret"
    callback = sf_authorize(sf_start(client_admin_a, portal_a))
    with django_capture_on_commit_callbacks(execute=True):
        page = html.unescape(client_admin_a.get(callback_path(callback), follow=True).content.decode())
    assert NOTICE in page and "invalid client credentials" not in page
    assert not SalesforceConnection.objects.filter(portal=portal_a).exclude(refresh_token_enc="").exists()
    assert [m.to for m in mailoutbox] == [["ops@thankview.test"]]
