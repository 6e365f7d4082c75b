"""Salesforce fixtures: a real sfsim server over HTTPS, and a portal connected to it.

Reusable by every Salesforce test (the sync tests too):

- ``sfsim``: the simulator, started in-process once per test session (per xdist worker) on a
  free port, with a self-signed certificate. ``sfsim.url``, ``sfsim.ca_path``.
- ``sim``: a ``SimControl`` for it, with the org reset (records, schema, faults, stats,
  tokens) before each test. Use it to seed records, add/remove/require fields, inject faults.
- ``sf_settings``: the Django ``settings`` fixture pointed at the simulator (login and
  sandbox URL, CA bundle, fast retries). Every fixture below depends on it.
- ``sf_authorize(authorize_url, action="allow")``: what a user does on the simulator's
  consent page, done over HTTPS; returns the callback URL Salesforce redirects to.
- ``sf_connect(client, portal, environment="production")``: a real OAuth connect by a
  logged-in Django test client: POST Connect → authorize at sfsim → GET the callback.
  Returns the stored ``SalesforceConnection``.
- ``sfsim_sandbox`` / ``sim_sandbox``: a second simulator (another org, same CA) serving as
  ``SALESFORCE_SANDBOX_URL`` once ``sandbox_settings`` is requested: for sandbox vs
  production stories (wrong environment, reconnecting to a different org).
- ``connected_portal_a``: ``portal_a`` connected by ``admin_a`` (status connected, checklist
  run). Its ``salesforce_connection`` is the connection.

Nothing here mocks our client or simple-salesforce: every call goes over HTTPS to sfsim.

``SFSIM_STRICT_ORG=1`` (``make test-strict``) starts every simulator as the strictest
customer org (``sfsim.lockdown.STRICT_ORG``); ``STRICT_ORG`` tells a test it runs there.
"""

from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.urls import reverse

from sfsim.lockdown import strict_from_env

STRICT_ORG = bool(strict_from_env())


@pytest.fixture(scope="session")
def sfsim():
    from sfsim.server import start

    handle = start(port=0, latency_ms=0, **strict_from_env())
    yield handle
    handle.stop()


@pytest.fixture
def sim(sfsim):
    from sfsim.control import SimControl

    control = SimControl(sfsim.url, sfsim.ca_path)
    control.reset()
    yield control
    control.reset()


@pytest.fixture(scope="session")
def sfsim_sandbox(sfsim):
    from pathlib import Path

    from sfsim.server import start

    # Same CA directory: one SALESFORCE_CA_BUNDLE trusts both servers.
    handle = start(port=0, latency_ms=0, cert_dir=Path(sfsim.ca_path).parent,
                   username="jane@acme.org.uat", display_name="Jane Sandbox", org_name="Acme UAT", **strict_from_env())
    yield handle
    handle.stop()


@pytest.fixture
def sim_sandbox(sfsim_sandbox):
    from sfsim.control import SimControl

    control = SimControl(sfsim_sandbox.url, sfsim_sandbox.ca_path)
    control.reset()
    yield control
    control.reset()


@pytest.fixture
def sandbox_settings(sf_settings, sfsim_sandbox, sim_sandbox):
    sf_settings.SALESFORCE_SANDBOX_URL = sfsim_sandbox.url
    return sf_settings


@pytest.fixture
def sf_settings(settings, sfsim, sim):
    settings.SALESFORCE_USES_SIMULATOR = True
    settings.SALESFORCE_SIMULATOR_URL = sfsim.url
    settings.SALESFORCE_LOGIN_URL = sfsim.url
    settings.SALESFORCE_SANDBOX_URL = sfsim.url
    settings.SALESFORCE_CA_BUNDLE = sfsim.ca_path
    settings.SALESFORCE_CLIENT_ID = "sfsim-client-id"
    settings.SALESFORCE_CLIENT_SECRET = "sfsim-client-secret"
    settings.SALESFORCE_RETRY_ATTEMPTS = 3
    settings.SALESFORCE_RETRY_BASE_SECONDS = 0.01
    settings.SALESFORCE_RETRY_MAX_WAIT_SECONDS = 0.05
    settings.SALESFORCE_TIMEOUT_SECONDS = 10
    return settings


@pytest.fixture
def sf_authorize(sfsim, sf_settings):
    """Act on the simulator's consent page; returns the callback URL (code or error)."""

    def _authorize(authorize_url, action="allow"):
        parts = urlsplit(authorize_url)
        params = dict(parse_qsl(parts.query))
        consent = requests.get(authorize_url, verify=sfsim.ca_path, timeout=10)
        assert consent.status_code == 200 and "Allow" in consent.text
        resp = requests.post(
            f"{parts.scheme}://{parts.netloc}{parts.path}",
            data={**params, "action": action},
            verify=sfsim.ca_path,
            allow_redirects=False,
            timeout=10,
        )
        assert resp.status_code in (302, 303), resp.text[:500]
        return resp.headers["Location"]

    return _authorize


def callback_path(callback_url):
    """The portal-relative part of the callback URL, for the Django test client."""
    parts = urlsplit(callback_url)
    assert parts.path == reverse("salesforce_callback")
    return f"{parts.path}?{parts.query}"


@pytest.fixture
def sf_start(sf_settings):
    """POST Connect as ``client``; returns Salesforce's authorize URL (asserts the redirect)."""

    def _start(client, portal, environment="production", mydomain_url=""):
        resp = client.post(
            reverse("integrations:salesforce_connect", args=[portal.slug]),
            {"environment": environment, "mydomain_url": mydomain_url},
        )
        assert resp.status_code == 302, resp.content[:500]
        return resp["Location"]

    return _start


@pytest.fixture
def sf_connect(sf_start, sf_authorize):
    def _connect(client, portal, environment="production", mydomain_url=""):
        from integrations.models import SalesforceConnection

        callback = sf_authorize(sf_start(client, portal, environment, mydomain_url))
        resp = client.get(callback_path(callback))
        assert resp.status_code == 302
        assert resp["Location"] == reverse("integrations:salesforce_settings", args=[portal.slug])
        conn = SalesforceConnection.objects.filter(portal=portal).first()
        assert conn is not None, [str(m) for m in resp.wsgi_request._messages]
        return conn

    return _connect


@pytest.fixture
def connected_portal_a(portal_a, client_admin_a, sf_connect):
    conn = sf_connect(client_admin_a, portal_a)
    assert conn.status == "connected", (conn.error_code, conn.error_message)
    return portal_a
