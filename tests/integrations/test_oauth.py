"""Connect / Reconnect / Disconnect through the OAuth web-server flow against sfsim."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.urls import reverse

from integrations.models import SalesforceConnection
from integrations.salesforce import crypto

from .conftest import callback_path

pytestmark = pytest.mark.django_db


def settings_url(portal):
    return reverse("integrations:salesforce_settings", args=[portal.slug])


def messages_of(client, response):
    return [str(m) for m in response.wsgi_request._messages] if hasattr(response, "wsgi_request") else []


def follow(client, response):
    assert response.status_code == 302
    return client.get(response["Location"])


def test_connect_stores_identity_and_encrypted_tokens(client_admin_a, portal_a, admin_a, sf_connect, sim):
    conn = sf_connect(client_admin_a, portal_a)
    assert conn.status == "connected"
    assert conn.environment == "production"
    assert conn.org_id.startswith("00D") and len(conn.org_id) == 18
    assert conn.user_id.startswith("005")
    assert conn.username == "admin@sfsim.example"
    assert conn.connected_by == admin_a
    # Encrypted at rest: the stored column is not the token, and decrypts to a real one.
    assert conn.access_token.startswith(conn.org_id[:15] + "!")
    assert conn.access_token not in conn.access_token_enc
    assert crypto.decrypt(conn.refresh_token_enc).startswith("5Aep861")
    # The page says where we are connected, plainly mentioning the simulator.
    page = client_admin_a.get(settings_url(portal_a)).content.decode()
    assert "Connected" in page
    assert f"Connected to org <strong>{conn.org_id}</strong> as <strong>admin@sfsim.example</strong>" in page
    assert "production" in page
    assert "connected to the local Salesforce simulator" in page


def test_authorize_url_uses_pkce_s256_state_and_scopes(client_admin_a, portal_a, sf_start, sfsim):
    url = sf_start(client_admin_a, portal_a)
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(f"{sfsim.url}/services/oauth2/authorize?")
    assert q["response_type"] == "code"
    assert q["client_id"] == "sfsim-client-id"
    assert q["scope"] == "api refresh_token"
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
    assert len(q["state"]) >= 32
    assert q["redirect_uri"].endswith("/integrations/salesforce/callback/")
    # The verifier stays in the server-side session; it is not in the URL.
    stored = client_admin_a.session["salesforce_oauth_states"][q["state"]]
    assert stored["code_verifier"] not in url and stored["portal_id"] == portal_a.pk


def test_deny_shows_message_and_stores_nothing(client_admin_a, portal_a, sf_start, sf_authorize):
    callback = sf_authorize(sf_start(client_admin_a, portal_a), action="deny")
    assert "error=access_denied" in callback
    resp = client_admin_a.get(callback_path(callback), follow=True)
    assert resp.redirect_chain[-1][0] == settings_url(portal_a)
    assert "You denied ThankView access to Salesforce" in resp.content.decode()
    assert not SalesforceConnection.objects.filter(portal=portal_a).exists()


def test_replayed_state_is_refused(client_admin_a, portal_a, sf_start, sf_authorize):
    callback = sf_authorize(sf_start(client_admin_a, portal_a))
    assert client_admin_a.get(callback_path(callback)).status_code == 302
    first = SalesforceConnection.objects.get(portal=portal_a)
    resp = client_admin_a.get(callback_path(callback), follow=True)
    assert "unknown or was already used" in resp.content.decode()
    assert resp.redirect_chain[-1][0] == settings_url(portal_a)
    again = SalesforceConnection.objects.get(portal=portal_a)
    assert again.access_token_enc == first.access_token_enc  # untouched


def test_forged_state_is_refused_and_code_not_exchanged(client_admin_a, portal_a, sf_start, sf_authorize, sim):
    callback = sf_authorize(sf_start(client_admin_a, portal_a))
    q = parse_qs(urlsplit(callback).query)
    forged = reverse("salesforce_callback") + "?" + urlencode({"code": q["code"][0], "state": q["state"][0] + "x"})
    resp = client_admin_a.get(forged, follow=True)
    assert "unknown or was already used" in resp.content.decode()
    assert not SalesforceConnection.objects.filter(portal=portal_a).exists()
    # A state-less callback is refused the same way.
    resp = client_admin_a.get(reverse("salesforce_callback") + "?code=" + q["code"][0], follow=True)
    assert "unknown or was already used" in resp.content.decode()
    assert not SalesforceConnection.objects.filter(portal=portal_a).exists()


def test_expired_state_is_refused(client_admin_a, portal_a, sf_start, sf_authorize):
    callback = sf_authorize(sf_start(client_admin_a, portal_a))
    session = client_admin_a.session
    states = session["salesforce_oauth_states"]
    for entry in states.values():
        entry["created"] -= 601
    session["salesforce_oauth_states"] = states
    session.save()
    resp = client_admin_a.get(callback_path(callback), follow=True)
    assert "expired" in resp.content.decode()
    assert not SalesforceConnection.objects.filter(portal=portal_a).exists()


def test_token_endpoint_error_shows_message_and_stores_nothing(client_admin_a, portal_a, sf_start, sf_authorize, sfsim):
    callback = sf_authorize(sf_start(client_admin_a, portal_a))
    code = parse_qs(urlsplit(callback).query)["code"][0]
    # Someone spends the code first (single use): our exchange gets invalid_grant.
    requests.post(
        f"{sfsim.url}/services/oauth2/token",
        data={"grant_type": "authorization_code", "code": code, "client_id": "x", "client_secret": "y"},
        verify=sfsim.ca_path, timeout=10,
    )
    stolen = requests.post(
        f"{sfsim.url}/services/oauth2/token",
        data={"grant_type": "authorization_code", "code": code, "client_id": "sfsim-client-id",
              "client_secret": "sfsim-client-secret", "redirect_uri": "http://127.0.0.1:8000/integrations/salesforce/callback/"},
        verify=sfsim.ca_path, timeout=10,
    )
    assert stolen.status_code == 400  # PKCE: without our verifier the code is useless
    resp = client_admin_a.get(callback_path(callback), follow=True)
    body = resp.content.decode()
    assert resp.redirect_chain[-1][0] == settings_url(portal_a)
    assert "Salesforce refused the connection" in body and "invalid_grant" in body
    assert "sandbox vs. production" in body  # the hint for the wrong-environment case
    assert not SalesforceConnection.objects.filter(portal=portal_a).exists()


def test_wrong_pkce_verifier_is_refused(client_admin_a, portal_a, sf_start, sf_authorize):
    callback = sf_authorize(sf_start(client_admin_a, portal_a))
    session = client_admin_a.session
    states = session["salesforce_oauth_states"]
    for entry in states.values():
        entry["code_verifier"] = "tampered-" + entry["code_verifier"]
    session["salesforce_oauth_states"] = states
    session.save()
    resp = client_admin_a.get(callback_path(callback), follow=True)
    assert "invalid_request" in resp.content.decode()
    assert not SalesforceConnection.objects.filter(portal=portal_a).exists()


def test_mydomain_url_is_validated(client_admin_a, portal_a, sf_settings):
    url = reverse("integrations:salesforce_connect", args=[portal_a.slug])
    for bad in ("http://acme.my.salesforce.com", "https://evil.example.com", "https://acme.my.salesforce.com.evil.io",
                "https://a.b.my.salesforce.com", "javascript:alert(1)", "https://acme.my.salesforce.com/path?x=1"):
        resp = client_admin_a.post(url, {"environment": "mydomain", "mydomain_url": bad})
        assert resp.status_code == 400, bad
        assert 'aria-invalid="true"' in resp.content.decode()
    assert "salesforce_oauth_states" not in client_admin_a.session


def test_mydomain_accepts_real_hosts_and_the_simulator(client_admin_a, portal_a, sf_settings, sfsim):
    from integrations.salesforce.oauth import validate_mydomain

    assert validate_mydomain("https://acme.my.salesforce.com") == "https://acme.my.salesforce.com"
    assert validate_mydomain("https://Acme--UAT.sandbox.my.salesforce.com/") == "https://acme--uat.sandbox.my.salesforce.com"
    resp = client_admin_a.post(
        reverse("integrations:salesforce_connect", args=[portal_a.slug]),
        {"environment": "mydomain", "mydomain_url": sfsim.url},
    )
    assert resp.status_code == 302 and resp["Location"].startswith(sfsim.url + "/services/oauth2/authorize")


def test_staff_cannot_connect(client_staff_a, portal_a, sf_settings):
    resp = client_staff_a.post(reverse("integrations:salesforce_connect", args=[portal_a.slug]), {"environment": "production"})
    assert resp.status_code == 403
    # ...but can read the settings page, without the Connect form.
    page = client_staff_a.get(settings_url(portal_a))
    assert page.status_code == 200 and "Ask a portal admin" in page.content.decode()


def test_callback_by_admin_demoted_meanwhile_is_refused(client_admin_a, portal_a, admin_a, sf_start, sf_authorize):
    callback = sf_authorize(sf_start(client_admin_a, portal_a))
    portal_a.memberships.filter(user=admin_a).update(role="staff")
    resp = client_admin_a.get(callback_path(callback), follow=True)
    assert "Only portal admins" in resp.content.decode()
    assert not SalesforceConnection.objects.filter(portal=portal_a).exists()


def test_disconnect_needs_confirmation_then_revokes_and_deletes(client_admin_a, connected_portal_a, sfsim):
    conn = connected_portal_a.salesforce_connection
    refresh = conn.refresh_token
    url = reverse("integrations:salesforce_disconnect", args=[connected_portal_a.slug])
    confirm = client_admin_a.get(url)
    assert confirm.status_code == 200 and "Yes, disconnect" in confirm.content.decode()
    conn.refresh_from_db()
    assert conn.has_tokens  # a GET changes nothing
    resp = client_admin_a.post(url, follow=True)
    assert "access was revoked" in resp.content.decode()
    conn.refresh_from_db()
    assert conn.status == "disconnected" and conn.access_token_enc == "" and conn.refresh_token_enc == ""
    # Revoked at Salesforce: the refresh token no longer works.
    r = requests.post(
        f"{sfsim.url}/services/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh, "client_id": "sfsim-client-id",
              "client_secret": "sfsim-client-secret"},
        verify=sfsim.ca_path, timeout=10,
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert "Not connected" in client_admin_a.get(settings_url(connected_portal_a)).content.decode()


def test_disconnect_when_revoke_fails_still_deletes_and_says_so(client_admin_a, connected_portal_a):
    conn = connected_portal_a.salesforce_connection
    # Salesforce unreachable (nothing listens on port 9): the revoke cannot happen.
    SalesforceConnection.objects.filter(pk=conn.pk).update(login_url="https://127.0.0.1:9")
    url = reverse("integrations:salesforce_disconnect", args=[connected_portal_a.slug])
    resp = client_admin_a.post(url, follow=True)
    body = resp.content.decode()
    assert "ThankView deleted its tokens, but Salesforce could not confirm the revoke" in body
    conn.refresh_from_db()
    assert not conn.has_tokens and conn.status == "disconnected"


def test_reconnect_to_a_different_org_is_detected(client_admin_a, connected_portal_a, sf_connect, sim):
    conn = connected_portal_a.salesforce_connection
    old_org = conn.org_id
    sim.reset()  # a new org (new org id) behind the same login host
    new = sf_connect(client_admin_a, connected_portal_a)
    assert new.pk == conn.pk
    assert new.org_id != old_org
    assert new.previous_org_id == old_org and new.org_changed_at is not None
    page = client_admin_a.get(settings_url(connected_portal_a)).content.decode()
    assert old_org in page


def test_sandbox_connect_uses_the_sandbox_login_host(client_admin_a, portal_a, sandbox_settings, sf_start, sf_connect, sfsim_sandbox):
    assert sf_start(client_admin_a, portal_a, "sandbox").startswith(sfsim_sandbox.url + "/services/oauth2/authorize?")
    conn = sf_connect(client_admin_a, portal_a, "sandbox")
    assert conn.environment == "sandbox" and conn.login_url == sfsim_sandbox.url
    assert conn.username == "jane@acme.org.uat"
    page = client_admin_a.get(settings_url(portal_a)).content.decode()
    assert "as <strong>jane@acme.org.uat</strong> (Jane Sandbox), sandbox." in page


def test_wrong_environment_is_refused_and_stores_nothing(client_admin_a, portal_a, sandbox_settings, sf_start, sfsim, sf_authorize):
    """The admin chose Sandbox, but the code came from the production login: the sandbox's
    token endpoint does not know it (invalid_grant); nothing is stored."""
    sandbox_authorize = sf_start(client_admin_a, portal_a, "sandbox")
    production_authorize = sfsim.url + "/services/oauth2/authorize?" + urlsplit(sandbox_authorize).query
    callback = sf_authorize(production_authorize)
    resp = client_admin_a.get(callback_path(callback), follow=True)
    body = resp.content.decode()
    assert "Salesforce refused the connection" in body and "invalid_grant" in body
    assert "different environment than the one you chose (sandbox vs. production)" in body
    assert not SalesforceConnection.objects.filter(portal=portal_a).exists()


def test_sandbox_then_production_is_a_different_org(client_admin_a, portal_a, sandbox_settings, sf_connect,
                                                     django_capture_on_commit_callbacks):
    from integrations.salesforce.connection import salesforce_org_changed

    seen = []

    def handler(sender, **kw):
        seen.append((kw["previous_org_id"], kw["org_id"]))

    salesforce_org_changed.connect(handler)
    try:
        sandbox = sf_connect(client_admin_a, portal_a, "sandbox")
        with django_capture_on_commit_callbacks(execute=True):
            prod = sf_connect(client_admin_a, portal_a, "production")
    finally:
        salesforce_org_changed.disconnect(handler)
    assert prod.pk == sandbox.pk and prod.environment == "production"
    assert prod.org_id != sandbox.org_id and prod.previous_org_id == sandbox.org_id
    assert seen == [(sandbox.org_id, prod.org_id)]
