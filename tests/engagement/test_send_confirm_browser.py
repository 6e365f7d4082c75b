"""Sending asks first: the confirmation states the recipients and the skipped contacts, and
nothing is created before it is confirmed (a real browser, desktop and phone)."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from engagement.models import Send, SendJob
from tests.contacts.factories import make_contact
from tests.engagement.factories import make_campaign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}


def assert_no_page_scroll(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} scrolls sideways: {width}px"


@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_send_shows_the_counts_and_creates_nothing_until_confirmed(login, live_server, staff_a, portal_a, viewport):
    campaign = make_campaign(portal_a, name="Spring thanks")
    for i in range(4):
        make_contact(portal_a, email=f"p{i}@example.org")
    make_contact(portal_a, email="gone@example.org", unsubscribed_at=timezone.now())
    make_contact(portal_a, email="bad@example.org", bounced_at=timezone.now())
    page = login(staff_a)
    page.set_viewport_size(viewport)
    page.goto(f"{live_server.url}/alpha/campaigns/{campaign.pk}/send/")
    assert_no_page_scroll(page)
    page.get_by_label("All contacts").check()
    page.get_by_role("button", name="Review and send").click()

    expect(page.get_by_role("heading", name="Send “Spring thanks”?")).to_be_visible()
    expect(page.locator(".confirm-total")).to_have_text("4 contacts will get an email with their personal video page.")
    expect(page.locator(".confirm-skipped li")).to_have_text(
        ["1 skipped: unsubscribed from your emails.", "1 skipped: their email address bounced."]
    )
    assert_no_page_scroll(page)
    assert (SendJob.objects.count(), Send.objects.count()) == (0, 0)

    page.get_by_role("button", name="Send to 4 contacts").click()
    expect(page).to_have_url(f"{live_server.url}/alpha/campaigns/{campaign.pk}/sending/{SendJob.objects.get().pk}/")
    expect(page.get_by_role("status")).to_contain_text("Done: 4 of 4 emails delivered.")
    assert Send.objects.count() == 4
