"""Browser stories (headless Chromium): Connect, expire, Reconnect; and Deny."""

import pytest
from playwright.sync_api import expect

from integrations.models import SalesforceConnection

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_sf(sf_settings, live_server):
    # The callback Salesforce redirects to must be the live server.
    sf_settings.SITE_URL = live_server.url
    return sf_settings


def test_connect_expire_reconnect(login, live_server, browser_sf, admin_a, portal_a, sim, sfsim):
    page = login(admin_a)
    page.goto(f"{live_server.url}/{portal_a.slug}/integrations/salesforce/")
    expect(page.get_by_test_id("connection-status")).to_have_text("Not connected")

    page.get_by_role("button", name="Connect to Salesforce").click()
    # The simulator's consent page (a different origin, HTTPS).
    expect(page.get_by_role("heading", name="Allow access?")).to_be_visible()
    assert page.url.startswith(sfsim.url)
    page.get_by_role("button", name="Allow").click()

    expect(page.get_by_test_id("connection-status")).to_have_text("Connected")
    assert page.url == f"{live_server.url}/{portal_a.slug}/integrations/salesforce/"
    expect(page.get_by_test_id("checklist-ok")).to_be_visible()
    expect(page.locator('[data-testid="checklist"] li.fail')).to_have_count(0)
    expect(page.get_by_text("connected to the local Salesforce simulator")).to_be_visible()

    # Salesforce side: the session expires and the refresh token is revoked.
    sim.fault("expire_sessions")
    sim.fault("revoke_refresh_tokens")
    page.get_by_role("button", name="Check again").click()
    banner = page.locator('[data-banner="session_expired"]')
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Session or Connection Expired")

    banner.get_by_role("button", name="Reconnect").click()
    expect(page.get_by_role("heading", name="Allow access?")).to_be_visible()
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_test_id("connection-status")).to_have_text("Connected")
    expect(page.locator('[data-banner="session_expired"]')).to_have_count(0)
    expect(page.locator("[data-banner]")).to_have_count(0)
    assert SalesforceConnection.objects.get(portal=portal_a).status == "connected"


def test_deny_shows_message(login, live_server, browser_sf, admin_a, portal_a, sim):
    page = login(admin_a)
    page.goto(f"{live_server.url}/{portal_a.slug}/integrations/salesforce/")
    page.get_by_role("button", name="Connect to Salesforce").click()
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_text("You denied ThankView access to Salesforce, so nothing was connected.")).to_be_visible()
    expect(page.get_by_test_id("connection-status")).to_have_text("Not connected")
    assert not SalesforceConnection.objects.filter(portal=portal_a).exists()
