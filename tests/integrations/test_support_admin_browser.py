"""Browser story (headless Chromium): support opens a portal's integration page in Django
admin, presses "Pause sync", reads the confirmation, confirms; the portal's Sync health page
then says ThankView support paused it. Set SHOTS_DIR to keep screenshots (1280 and 375 px)."""

import os

import pytest
from playwright.sync_api import expect

from integrations.models import SalesforceConnection, SupportEvent
from integrations.salesforce import support
from tests.factories import UserFactory
from thankview.dates import local_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shots(page, name):
    out = os.environ.get("SHOTS_DIR")
    if not out:
        return
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=os.path.join(out, f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_support_pauses_from_the_portal_page_after_confirming(login, live_server, connected_portal_a, sim, admin_a):
    conn = SalesforceConnection.objects.get(portal=connected_portal_a)
    support.sync_enable(connection=conn)
    staff = UserFactory(email="support@thankview.example", is_staff=True, is_superuser=True)

    page = login(staff)
    page.goto(f"{live_server.url}/admin/integrations/salesforceconnection/{conn.pk}/change/")
    overview = page.get_by_test_id("overview")
    expect(overview.get_by_test_id("ov-sync")).to_contain_text("On since")
    expect(overview.get_by_test_id("ov-connection")).to_contain_text(f"Production org {conn.org_id}")
    expect(overview.get_by_test_id("ov-cap")).to_contain_text("50% of the org's 15,000 daily requests = 7,500 calls per day")
    _shots(page, "admin-connection")

    page.get_by_role("button", name="Pause sync").click()
    confirm = page.get_by_test_id("support-confirm")
    expect(confirm.get_by_test_id("targets")).to_contain_text("Alpha University (alpha): sync pauses.")
    _shots(page, "admin-confirm-pause")
    conn.refresh_from_db()
    assert conn.sync_enabled  # the confirmation page changed nothing
    page.get_by_role("button", name="Yes, pause sync").click()
    expect(page.locator("ul.messagelist")).to_contain_text("Sync paused for alpha.")
    conn.refresh_from_db()
    assert not conn.sync_enabled
    at = SupportEvent.objects.filter(portal=conn.portal, kind="paused").get().at

    page.goto(f"{live_server.url}/admin/integrations/salesforceconnection/{conn.pk}/change/")
    expect(page.get_by_test_id("ov-sync")).to_contain_text("Paused since")
    expect(page.get_by_test_id("ov-sync")).to_contain_text("by support@thankview.example")
    page.goto(f"{live_server.url}/admin/integrations/salesforceconnection/{conn.pk}/history/")
    expect(page.locator("#change-history")).to_contain_text("Sync paused by support@thankview.example")

    page.context.clear_cookies()
    page = login(admin_a)
    page.goto(f"{live_server.url}/{conn.portal.slug}/integrations/salesforce/sync/")
    expect(page.get_by_test_id("support-history")).to_contain_text(
        f"Sync paused by ThankView support on {local_text(at)}")
    _shots(page, "sync-health-history")
