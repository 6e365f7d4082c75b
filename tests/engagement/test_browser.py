"""Issue 3's "done when": a recipient watches, clicks the CTA and replies in a real browser."""

import pytest
from playwright.sync_api import expect

from engagement.selectors import send_states
from tests.engagement.factories import make_campaign, make_send

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_recipient_watches_to_the_end_clicks_the_cta_and_replies(page, live_server, portal_a):
    campaign = make_campaign(
        portal_a,
        name="Thank you, Dana",
        video_url=f"{live_server.url}/static/video/thankyou.webm",
        cta_label="Give again",
        cta_url="https://give.example.org/now",
    )
    send = make_send(portal_a, campaign=campaign, email="dana@example.org", first_name="Dana")
    # The CTA's destination is another site; answer for it so the test needs no network.
    page.route("https://give.example.org/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<h1>Thank you for giving</h1>"
    ))
    landing = f"{live_server.url}/v/{send.token}/"

    page.goto(landing)
    expect(page.get_by_role("heading", name="Thank you, Dana")).to_be_visible()
    video = page.locator("video#campaign-video")
    video.evaluate("v => v.play()")  # muted, so no autoplay policy blocks it
    expect(video).to_have_attribute("data-started", "1")
    expect(video).to_have_attribute("data-finished", "1")  # reported at the end (>= 95 %)
    assert video.evaluate("v => v.currentTime / v.duration") >= 0.95

    # The portal records the click and redirects to the campaign's CTA. What the browser does
    # next is not ours to test (with no network at all, Chromium does not even ask the route
    # above for a redirect's target), so the redirect itself is checked.
    with page.expect_response(f"{live_server.url}/v/{send.token}/cta/") as cta:
        page.get_by_role("link", name="Give again").click()
    assert (cta.value.status, cta.value.headers["location"]) == (302, "https://give.example.org/now")

    page.goto(landing)
    page.get_by_label("Your reply").fill("Thank you so much, this made my day!")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_role("status")).to_contain_text("Your reply was sent")

    state = send_states([send.pk])[send.pk]
    assert state.opened and state.clicked
    assert state.started_watching and state.finished_watching
    assert state.cta_clicked
    assert state.views == 1
    assert state.text_reply == "Thank you so much, this made my day!"
    assert not (state.downloaded or state.shared or state.bounced or state.unsubscribed)
