"""Browser story (headless Chromium): the sync health page shows a support re-sync's
progress and keeps it current without a reload while a sync run writes the sends."""

import pytest
from playwright.sync_api import expect

from integrations.salesforce import support

from .conftest import run_sync

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_resync_progress_updates_in_place(login, live_server, sync_conn, sim, make_send, campaign_a, portal_a, staff_a):
    sim.seed("Contact", [{"LastName": f"D{i}", "Email": f"d{i}@x.org"} for i in range(3)])
    for i in range(3):
        make_send(email=f"d{i}@x.org", events=["opened"])
    support.campaign_resync(campaign=campaign_a)

    page = login(staff_a)
    page.goto(f"{live_server.url}/{portal_a.slug}/integrations/salesforce/sync/")
    section = page.get_by_test_id("resync-progress")
    expect(section.get_by_role("status")).to_contain_text("0 of 3 sends done")
    bar = section.locator("progress")
    expect(bar).to_have_attribute("value", "0")
    page.evaluate("window.__marker = 'same page'")

    run_sync(portal_a)  # a sync run (what a worker does) while the page is open

    expect(section.get_by_role("status")).to_have_text("Every requested re-sync is done.", timeout=15000)
    expect(section.locator('[data-progress-field$="-synced"]')).to_have_text("3")
    assert page.evaluate("bar => bar.value", bar.element_handle()) == 3
    assert page.evaluate("window.__marker") == "same page"  # updated without a reload
    page.reload()  # the chart is drawn by the server: the new run is on it after a reload
    expect(page.get_by_test_id("runs-chart")).to_be_visible()
    expect(page.get_by_role("img", name="Sync runs")).to_be_visible()
    done = page.get_by_test_id("resync-progress")
    assert done.get_attribute("data-progress-url") is None  # finished: nothing to poll any more
