"""Every portal page at 1280×800 and on a phone (375×812), in headless Chromium, with a
Salesforce problem and the Invalid Salesforce ID notice both active:

- the page never scrolls sideways (document scrollWidth ≤ the viewport);
- at 1280×800 the page's heading starts within the first 350 px;
- the full error cards show only on Integrations & APIs, Salesforce Settings and Sync health;
  every other page has one compact line per problem; the invalid-ID notice shows only on the
  Contacts and those integration pages;
- exactly one navigation item is current, and on a phone the navigation sits behind "Menu";
- the Integrations & APIs overview has a card per integration, and its breadcrumbs link.
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from engagement.models import Campaign, Send
from integrations.models import FieldMapping, SalesforceConnection
from integrations.salesforce import connection as connection_services
from integrations.salesforce import support
from integrations.salesforce.run import sync_portal_run
from tests.contacts.factories import make_contact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}
FULL = "full"
COMPACT = "compact"


@pytest.fixture
def troubled_portal(connected_portal_a, sim):
    """portal_a connected, then Salesforce turned API access off (a real check stores the
    Permissions problem), with two contacts whose Donor ID is invalid and a sent campaign."""
    portal = connected_portal_a
    conn = portal.salesforce_connection
    support.sync_enable(connection=conn)
    SalesforceConnection.objects.filter(pk=conn.pk).update(sync_enabled_at=timezone.now() - timedelta(days=10))
    make_contact(portal, email="numeric@alpha.example", first_name="Nora", donor_id="1004422")
    make_contact(portal, email="account@alpha.example", first_name="Abe", donor_id="001D000000IRFmaIAH")
    fine = make_contact(portal, email="a.very.long.address.that.does.not.fit@fundraising-office.alpha.example",
                        first_name="Fay", donor_id="003RO0000035WQgYAM")
    campaign = Campaign.objects.create(portal=portal, name="Spring Thank You", video_url="https://videos.example.org/spring.mp4")
    Send.objects.create(campaign=campaign, contact=fine, sent_at=timezone.now() - timedelta(hours=3))
    # One run while Salesforce still answers: the send has no match, so Sync health lists it.
    sync_portal_run(portal=portal, trigger="test")
    sim.fault("api_disabled")
    connection_services.connection_check(connection=conn)
    conn.refresh_from_db()
    assert conn.error_kind == "permissions"
    return portal


def pages_of(portal):
    """(path, heading, nav item, banner style, invalid-ID notice shown)."""
    campaign = Campaign.objects.get(portal=portal)
    send = Send.objects.get(campaign=campaign)
    contact = send.contact
    mapping = FieldMapping.objects.filter(portal=portal).first()
    p = f"/{portal.slug}"
    rows = [
        (f"{p}/contacts/", "Contacts", "Contacts", COMPACT, True),
        (f"{p}/contacts/{contact.pk}/edit/", None, "Contacts", COMPACT, True),
        (f"{p}/contacts/import/", None, "Contacts", COMPACT, True),
        (f"{p}/campaigns/", "Campaigns", "Campaigns", COMPACT, False),
        (f"{p}/campaigns/new/", None, "Campaigns", COMPACT, False),
        (f"{p}/campaigns/{campaign.pk}/", "Spring Thank You", "Campaigns", COMPACT, False),
        (f"{p}/campaigns/{campaign.pk}/sends/{send.pk}/", None, "Campaigns", COMPACT, False),
        (f"{p}/integrations/", "Integrations & APIs", "Integrations & APIs", FULL, True),
        (f"{p}/integrations/salesforce/", "Salesforce Settings", "Integrations & APIs", FULL, True),
        (f"{p}/integrations/salesforce/mappings/add/", "Add a mapping", "Integrations & APIs", COMPACT, False),
        (f"{p}/integrations/salesforce/sync/", "Sync health", "Sync health", FULL, True),
        (f"{p}/api-keys/", "API keys and webhooks", "Integrations & APIs", COMPACT, False),
    ]
    if mapping:
        rows.append((f"{p}/integrations/salesforce/mappings/{mapping.pk}/edit/", None, "Integrations & APIs", COMPACT, False))
    return rows


def shot(page, path, size):
    """Save a full-page screenshot when SCREENSHOT_DIR is set (to look at the pages; not committed)."""
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        name = path.strip("/").replace("/", "_") or "root"
        page.screenshot(path=str(Path(folder) / f"{name}-{size}.png"), full_page=True)


def page_metrics(page):
    return page.evaluate(
        """() => {
            const h1 = document.querySelector('main h1');
            return {
                scrollWidth: document.documentElement.scrollWidth,
                viewport: window.innerWidth,
                headingTop: h1 ? h1.getBoundingClientRect().top + window.scrollY : null,
                heading: h1 ? h1.textContent.trim() : null,
            };
        }"""
    )


def widest(page):
    """The elements that stick out of the viewport (for the failure message)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
            .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').trim().slice(0, 40))"""
    )


def banners_on(page):
    return page.evaluate(
        "() => [...document.querySelectorAll('[data-banner]')].map(b => [b.dataset.banner, b.dataset.bannerStyle])"
    )


def test_every_page_fits_and_shows_its_heading_first_at_1280(login, live_server, admin_a, troubled_portal, page):
    page.set_viewport_size(DESKTOP)
    login(admin_a)
    for path, heading, nav_item, style, invalid_shown in pages_of(troubled_portal):
        page.goto(live_server.url + path)
        shot(page, path, "1280")
        m = page_metrics(page)
        assert m["scrollWidth"] <= m["viewport"], (path, m)
        assert m["headingTop"] is not None and m["headingTop"] <= 350, (path, m)
        if heading:
            assert m["heading"] == heading, path
        expected = [["permissions", style]] + ([["invalid_id", style]] if invalid_shown else [])
        assert banners_on(page) == expected, path
        current = page.locator('nav[aria-label="Main"] [aria-current="page"]')
        expect(current).to_have_count(1)
        expect(current).to_have_text(nav_item)


def test_every_page_fits_a_phone_with_the_menu_collapsed(login, live_server, admin_a, troubled_portal, page):
    page.set_viewport_size(PHONE)
    login(admin_a)
    for path, _heading, nav_item, _style, _invalid in pages_of(troubled_portal):
        page.goto(live_server.url + path)
        shot(page, path, "375")
        m = page_metrics(page)
        assert m["scrollWidth"] <= m["viewport"], (path, m, widest(page))
        links = page.locator(".nav-links")
        expect(links).to_be_hidden()
        menu = page.get_by_role("button", name="Menu")
        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")
        expect(links.get_by_role("link", name=nav_item)).to_be_visible()
        # The opened menu still fits the phone.
        assert page_metrics(page)["scrollWidth"] <= PHONE["width"], path


def test_tables_scroll_inside_their_card_on_a_phone(login, live_server, admin_a, troubled_portal, page):
    page.set_viewport_size(PHONE)
    login(admin_a)
    page.goto(f"{live_server.url}/{troubled_portal.slug}/integrations/salesforce/sync/")
    expect(page.get_by_test_id("unsynced").locator("tbody tr")).to_have_count(1)
    runs = page.get_by_test_id("runs")
    expect(runs.locator("tbody tr")).to_have_count(1)
    # The runs table has nine columns: wider than a phone, it scrolls inside its card and
    # the page itself does not.
    scroll_width, client_width, right = runs.evaluate("t => [t.scrollWidth, t.clientWidth, t.getBoundingClientRect().right]")
    assert scroll_width > client_width, (scroll_width, client_width)
    assert right <= PHONE["width"]
    assert page_metrics(page)["scrollWidth"] <= PHONE["width"]


def test_integrations_hub_cards_and_linked_breadcrumbs(login, live_server, admin_a, troubled_portal, page):
    page.set_viewport_size(DESKTOP)
    login(admin_a)
    page.goto(f"{live_server.url}/{troubled_portal.slug}/contacts/")
    page.get_by_role("link", name="Integrations & APIs").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Integrations & APIs")
    salesforce = page.get_by_test_id("hub-salesforce")
    expect(salesforce.get_by_test_id("sync-state")).to_have_text(
        "Enabled Runs stop until the Salesforce permissions are fixed (see Insufficient Permissions)."
    )
    expect(salesforce.get_by_test_id("last-sync")).to_have_text(
        re.compile(r"^\d+ \w{3} \d{4}, \d\d:\d\d UTC: Completed\. 1 send due: 0 created, 0 updated, 1 without a match, 0 rejected\.$")
    )
    expect(salesforce.get_by_test_id("hub-problems")).to_have_text(
        "Insufficient Permissions or API Access Disabled; Invalid Salesforce ID (2 contacts). How to fix is shown above."
    )
    expect(page.get_by_test_id("hub-api-keys")).to_have_text("No active keys")

    salesforce.get_by_role("link", name="Salesforce Settings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Salesforce Settings")
    crumbs = page.get_by_role("navigation", name="Breadcrumb")
    expect(crumbs.get_by_role("link")).to_have_count(1)
    crumbs.get_by_role("link", name="Integrations & APIs").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Integrations & APIs")

    page.get_by_test_id("hub-api").get_by_role("link", name="API keys and webhooks").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("API keys and webhooks")
    expect(page.locator('nav[aria-label="Main"] [aria-current="page"]')).to_have_text("Integrations & APIs")
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Integrations & APIs").click()
    expect(page).to_have_url(f"{live_server.url}/{troubled_portal.slug}/integrations/")


def test_messages_come_before_the_problem_cards(login, live_server, admin_a, troubled_portal, page):
    page.set_viewport_size(DESKTOP)
    login(admin_a)
    page.goto(f"{live_server.url}/{troubled_portal.slug}/integrations/salesforce/")
    page.get_by_role("button", name="Check again").click()
    message = page.locator(".message")
    expect(message).to_have_count(1)
    order = page.evaluate(
        """() => {
            const m = document.querySelector('.message'), b = document.querySelector('[data-banner]');
            return m.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? 'message first' : 'banner first';
        }"""
    )
    assert order == "message first"
