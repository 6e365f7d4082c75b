"""In Chromium, the Content-Security-Policy blocks nothing the pages need: no violation is
reported, and the behaviours moved out of inline handlers still work."""

import pytest
from playwright.sync_api import expect

from engagement import services
from tests.engagement.factories import make_send

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _violations(page):
    seen = []
    page.on("console", lambda msg: seen.append(msg.text) if "Content Security Policy" in msg.text else None)
    return seen


def test_api_keys_page_works_under_the_policy(login, live_server, admin_a, portal_a):
    page = login(admin_a)
    violations = _violations(page)
    secret = services.portal_email_settings_get(portal=portal_a).bounce_webhook_secret
    page.goto(f"{live_server.url}/alpha/api-keys/")
    field = page.get_by_label("Signing secret")
    field.focus()
    assert field.evaluate("el => el.value.substring(el.selectionStart, el.selectionEnd)") == secret
    questions = []

    def dismiss(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.get_by_role("button", name="Replace secret").click()
    assert questions == ["Replace the signing secret? Bounces signed with the old one will be refused."]
    assert services.portal_email_settings_get(portal=portal_a).bounce_webhook_secret == secret  # dismissed: kept
    assert violations == []


def test_landing_page_and_api_docs_work_under_the_policy(page, live_server, portal_a):
    violations = _violations(page)
    send = make_send(portal_a)
    page.goto(f"{live_server.url}/v/{send.token}/")
    expect(page.locator("video#campaign-video")).to_be_visible()
    page.goto(f"{live_server.url}/api/v1/docs")
    expect(page.get_by_text("ThankView API").first).to_be_visible()
    assert violations == []
