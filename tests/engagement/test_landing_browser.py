"""The recipient's page in a real browser, desktop and phone: the portal's name, logo and
accent colour; the video centred and within the screen; Share copies the page's link."""

import io

import pytest
from django.core.files.base import ContentFile
from PIL import Image
from playwright.sync_api import expect

from tests.engagement.factories import make_campaign, make_send
from tests.engagement.test_send_confirm_browser import VIEWPORTS, assert_no_page_scroll

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def brand(portal):
    buf = io.BytesIO()
    Image.new("RGB", (240, 80), (10, 125, 59)).save(buf, "PNG")
    portal.logo.save("logo.png", ContentFile(buf.getvalue()), save=False)
    portal.accent_color = "#0a7d3b"
    portal.save()


@pytest.mark.parametrize("viewport", VIEWPORTS.values(), ids=VIEWPORTS.keys())
def test_landing_page_is_branded_centred_and_shares_its_page_link(page, live_server, portal_a, viewport):
    brand(portal_a)
    campaign = make_campaign(
        portal_a, name="Thank you, Dana", video_url=f"{live_server.url}/static/video/thankyou.webm",
        cta_label="Give again", cta_url="https://give.example.org/now",
    )
    send = make_send(portal_a, campaign=campaign, email="dana@example.org", first_name="Dana")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.set_viewport_size(viewport)
    page.goto(f"{live_server.url}/v/{send.token}/")

    expect(page.locator(".recipient-portal")).to_have_text("Alpha University")
    logo = page.locator("img.recipient-logo")
    expect(logo).to_be_visible()
    assert logo.evaluate("img => img.naturalWidth") == 240  # served and decoded
    cta = page.get_by_role("link", name="Give again")
    assert cta.evaluate("a => getComputedStyle(a).backgroundColor") == "rgb(10, 125, 59)"
    assert cta.evaluate("a => getComputedStyle(a).color") == "rgb(255, 255, 255)"

    video = page.locator("video#campaign-video").bounding_box()
    main = page.locator("main").evaluate(
        "m => { const r = m.getBoundingClientRect(), s = getComputedStyle(m);"
        " return {left: r.left + parseFloat(s.paddingLeft), right: r.right - parseFloat(s.paddingRight)}; }"
    )
    assert abs((video["x"] - main["left"]) - (main["right"] - video["x"] - video["width"])) <= 1  # centred
    assert video["width"] <= min(720, viewport["width"]) and video["width"] >= min(720, main["right"] - main["left"]) - 1
    assert_no_page_scroll(page)

    page.get_by_role("button", name="Share").click()
    link = page.get_by_label("Link to this video’s page")
    share_url = link.input_value()
    assert "/w/" in share_url and send.token not in share_url and "thankyou.webm" not in share_url
    page.get_by_role("button", name="Copy link").click()
    expect(page.locator("[data-copy-status]")).to_have_text("Link copied. Paste it anywhere to share the video.")
    assert page.evaluate("navigator.clipboard.readText()") == share_url
    expect(page.get_by_role("link", name="Email the link")).to_have_attribute("href", f"mailto:?subject=Thank%20you%2C%20Dana%20%C2%B7%20Alpha%20University&body=A%20video%20from%20Alpha%20University%3A%20{share_url.replace(':', '%3A').replace('/', '%2F')}")
    assert_no_page_scroll(page)

    page.goto(share_url.replace(share_url.split("/w/")[0], live_server.url))
    expect(page.get_by_role("heading", name="Thank you, Dana")).to_be_visible()
    expect(page.locator(".recipient-portal")).to_have_text("Alpha University")
    assert_no_page_scroll(page)
