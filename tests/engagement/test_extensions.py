"""The send's extension point: status providers a higher app registers (the Salesforce sync's
status on the send page and in GET /api/v1/sends/{id}), and an engagement app that works
with none registered."""

import pytest

from engagement import extensions
from engagement.extensions import SendStatusProvider
from tests.engagement.factories import make_api_key, make_send


@pytest.fixture
def no_providers(monkeypatch):
    monkeypatch.setattr(extensions, "_providers", {})


def send_page(client, send):
    return client.get(f"/alpha/campaigns/{send.campaign_id}/sends/{send.pk}/").content.decode()


def test_the_send_page_shows_the_salesforce_status_the_integration_registered(client_staff_a, portal_a):
    html = send_page(client_staff_a, make_send(portal_a))
    assert 'data-testid="send-sync-status" data-status="not_connected"' in html
    assert "Salesforce is not connected." in html


def test_with_nothing_registered_the_send_page_has_no_status_panel(no_providers, client_staff_a, portal_a):
    html = send_page(client_staff_a, make_send(portal_a))
    assert "No engagement yet." in html
    assert "send-sync-status" not in html and "Salesforce" not in html


def test_with_nothing_registered_the_status_is_none(no_providers, portal_a):
    assert extensions.send_status(make_send(portal_a), key="salesforce") is None


def test_a_provider_without_a_template_gets_the_generic_panel(no_providers, client_staff_a, portal_a):
    send = make_send(portal_a)
    calls = []

    def status(s):
        calls.append(s.pk)
        return {"status": "queued", "label": "Waiting for the CRM."}

    extensions.send_status_provider_register(SendStatusProvider(key="crm", title="Other CRM", status=status))
    html = send_page(client_staff_a, send)
    assert 'data-testid="send-status-crm" data-status="queued"' in html
    assert '<h2 id="send-status-crm">Other CRM</h2>' in html and "<p>Waiting for the CRM.</p>" in html
    assert calls == [send.pk]  # computed once for the whole panel


def test_with_nothing_registered_the_api_answers_a_null_salesforce_status(no_providers, client, portal_a):
    send = make_send(portal_a)
    _, raw = make_api_key(portal_a)
    body = client.get(f"/api/v1/sends/{send.pk}", headers={"Authorization": f"Bearer {raw}"}).json()
    assert body["id"] == send.pk and body["salesforce"] is None


def test_the_api_carries_the_registered_salesforce_status(client, portal_a):
    send = make_send(portal_a)
    _, raw = make_api_key(portal_a)
    body = client.get(f"/api/v1/sends/{send.pk}", headers={"Authorization": f"Bearer {raw}"}).json()
    assert body["salesforce"] == {"status": "not_connected", "label": "Salesforce is not connected."}
