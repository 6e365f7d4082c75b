"""Fixtures for the simulator's own tests: one HTTPS simulator per session, a fresh org per test.

These tests need no database: they talk to ``sfsim`` over real HTTPS with real clients
(requests for OAuth, simple-salesforce in direct mode for REST and Bulk 2.0).
"""

import pytest
import requests
from simple_salesforce import Salesforce

from sfsim.server import start

API_VERSION = "59.0"
CALLBACK = "https://portal.test/integrations/salesforce/callback/"


@pytest.fixture(scope="session")
def sim():
    handle = start(port=0)
    yield handle
    handle.stop()


@pytest.fixture(autouse=True)
def _ca_bundle_env(monkeypatch):
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the environment override a
    # session's `verify`; without this the simulator's CA would be ignored.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


@pytest.fixture
def ctl(sim):
    control = sim.control()
    control.reset()
    return control


@pytest.fixture
def http(sim):
    session = requests.Session()
    session.verify = sim.ca_path
    return session


@pytest.fixture
def token(ctl):
    return ctl.connect(redirect_uri=CALLBACK)


@pytest.fixture
def sf(token, http):
    """simple-salesforce exactly as the product builds it ("direct" mode)."""
    return Salesforce(instance_url=token["instance_url"], session_id=token["access_token"],
                      version=API_VERSION, session=http)
