"""The messages after an action say what actually happened: "Check again" names the problem
Salesforce answered with (an expired session or missing access is not "could not reach"),
and the browser's Back button after Allow says the portal is already connected."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from integrations.models import SalesforceConnection

from .conftest import callback_path


def settings_url(portal):
    return reverse("integrations:salesforce_settings", args=[portal.slug])


def check_message(client, portal):
    """The messages "Check again" leaves (after the one the connect left unread)."""
    resp = client.post(reverse("integrations:salesforce_check", args=[portal.slug]), follow=True)
    shown = [str(m) for m in resp.context["messages"]]
    assert shown[0] == "Connected to Salesforce as admin@sfsim.example."
    return shown[1:]


@pytest.mark.django_db
def test_check_again_after_a_revoked_token_says_the_session_expired(client_admin_a, connected_portal_a, sim):
    sim.fault("expire_sessions")
    sim.fault("revoke_refresh_tokens")
    assert check_message(client_admin_a, connected_portal_a) == [
        "Checked: Session or Connection Expired. ThankView cannot sync until you reconnect. The card below says how to fix it."
    ]


@pytest.mark.django_db
def test_check_again_without_api_access_says_so(client_admin_a, connected_portal_a, sim):
    sim.fault("api_disabled")
    assert check_message(client_admin_a, connected_portal_a) == [
        "Checked: Insufficient Permissions or API Access Disabled. The connected Salesforce user cannot exchange data "
        "with ThankView. The card below says how to fix it."
    ]


@pytest.mark.django_db
def test_check_again_when_salesforce_is_down_says_it_could_not_reach_it(client_admin_a, connected_portal_a, sim):
    sim.fault("unavailable")
    assert check_message(client_admin_a, connected_portal_a) == [
        "Checked: ThankView could not reach Salesforce. Try again in 15–30 minutes; the card below says what else to do."
    ]


@pytest.mark.django_db
def test_a_used_authorization_on_a_connected_portal_says_it_is_already_connected(
    client_admin_a, portal_a, sf_start, sf_authorize
):
    callback = sf_authorize(sf_start(client_admin_a, portal_a))
    client_admin_a.get(callback_path(callback), follow=True)  # connected; its message is read
    resp = client_admin_a.get(callback_path(callback), follow=True)
    assert resp.redirect_chain[-1][0] == settings_url(portal_a)
    assert [(m.level_tag, str(m)) for m in resp.context["messages"]] == [
        ("info", "Alpha University is already connected to Salesforce as admin@sfsim.example. "
                 "This Salesforce authorization is unknown or was already used. Nothing was changed.")
    ]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_back_after_allow_says_the_portal_is_already_connected(login, live_server, sf_settings, admin_a, portal_a, sim):
    sf_settings.SITE_URL = live_server.url
    page = login(admin_a)
    page.goto(f"{live_server.url}/{portal_a.slug}/integrations/salesforce/")
    page.get_by_role("button", name="Connect to Salesforce").click()
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_test_id("connection-status")).to_have_text("Connected")
    first = SalesforceConnection.objects.get(portal=portal_a).access_token_enc

    page.go_back()
    expect(page.get_by_role("heading", name="Allow access?")).to_be_visible()
    page.get_by_role("button", name="Allow").click()
    expect(page.locator(".message")).to_have_text(
        "Alpha University is already connected to Salesforce as admin@sfsim.example. "
        "This Salesforce authorization is unknown or was already used. Nothing was changed."
    )
    expect(page.get_by_test_id("connection-status")).to_have_text("Connected")
    assert SalesforceConnection.objects.get(portal=portal_a).access_token_enc == first
