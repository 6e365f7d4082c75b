"""Every HTML page sends a Content-Security-Policy that allows no inline script, and no
page carries inline script for it to block; pages showing secrets are never cached."""

import re

import pytest
from django.test import Client

from engagement.views import NEW_KEY_SESSION
from tests.engagement.factories import make_api_key, make_send

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; media-src 'self' https: http:; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'none'"
)
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
_JS_URL = re.compile(r"(href|src|action)\s*=\s*\"\s*javascript:", re.I)


def _directives(header):
    return {part.split()[0]: part.split()[1:] for part in header.split("; ")}


def _policy(response):
    return _directives(response["Content-Security-Policy"])


def _assert_strict_page(response):
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/html")
    assert _policy(response) == _directives(POLICY)
    html = response.content.decode()
    assert _INLINE_SCRIPT.findall(html) == []
    assert _HANDLER.findall(html) == []
    assert _JS_URL.findall(html) == []


@pytest.mark.parametrize(
    "path",
    [
        "/alpha/contacts/",
        "/alpha/contacts/import/",
        "/alpha/campaigns/",
        "/alpha/campaigns/new/",
        "/alpha/api-keys/",
        "/alpha/integrations/salesforce/",
        "/alpha/integrations/salesforce/sync/",
    ],
)
def test_portal_pages_send_the_policy_and_have_no_inline_script(client_admin_a, path):
    _assert_strict_page(client_admin_a.get(path, follow=True))


def test_public_pages_send_the_policy_and_have_no_inline_script(db, portal_a):
    send = make_send(portal_a)
    client = Client()
    for path in ["/accounts/login/", f"/v/{send.token}/", f"/u/{send.token}/", "/api/v1/docs"]:
        _assert_strict_page(client.get(path))
    assert _policy(client.get("/no-such-page/")) == _directives(POLICY)


def test_admin_pages_send_the_policy(db):
    from tests.factories import UserFactory

    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    for path in ["/admin/", "/admin/integrations/", "/admin/thankview/portal/add/"]:
        response = client.get(path, follow=True)
        assert response.status_code == 200
        assert _policy(response) == _directives(POLICY)
        assert _INLINE_SCRIPT.findall(response.content.decode()) == []


def test_the_page_showing_a_new_api_key_and_the_webhook_secret_is_never_cached(client_admin_a, portal_a):
    key, raw = make_api_key(portal_a)
    session = client_admin_a.session
    session[NEW_KEY_SESSION] = {"id": key.pk, "raw": raw}
    session.save()
    response = client_admin_a.get("/alpha/api-keys/")
    assert raw in response.content.decode()
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    # Creating a key through the form shows it on the next page, also uncached.
    response = client_admin_a.post("/alpha/api-keys/", {"name": "CRM"}, follow=True)
    assert "no-store" in response["Cache-Control"]
