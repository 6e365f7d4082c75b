"""Every JSON endpoint reads its body through one parser that bounds size and depth: a
deeply nested body gets a clear 400 (never a 500 or an ERROR traceback) and stores nothing."""

import json
import logging

import pytest
from django.test import Client

from contacts.models import Contact
from engagement import jsonbody, services
from engagement.models import Campaign, EngagementEvent, Send
from tests.engagement.factories import make_api_key, make_send

DEEP = b"[" * 1500 + b"]" * 1500  # 3 KB: 1,500 nested arrays
DEEP_IN_OBJECT = b'{"events": ' + DEEP + b"}"


@pytest.fixture
def setup(portal_a):
    send = make_send(portal_a, email="donor@example.org")
    _, raw = make_api_key(portal_a)
    return send, {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def no_error_logs(caplog):
    caplog.set_level(logging.WARNING)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


def _counts():
    return (Campaign.objects.count(), Send.objects.count(), Contact.objects.count(), EngagementEvent.objects.count())


@pytest.mark.parametrize("body", [DEEP, DEEP_IN_OBJECT])
@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/campaigns", "/api/v1/campaigns/{campaign}/sends"])
def test_deep_json_on_the_api_is_a_400_and_stores_nothing(setup, no_error_logs, path, body):
    send, headers = setup
    before = _counts()
    response = Client(raise_request_exception=False).post(
        path.format(campaign=send.campaign_id), body, content_type="application/json", headers=headers
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "The JSON is nested more than 32 levels deep."}
    assert _counts() == before


def test_deep_json_on_the_recipient_events_endpoint_is_a_400(setup, no_error_logs):
    send, _ = setup
    response = Client(raise_request_exception=False).post(
        f"/v/{send.token}/events/", DEEP, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.content == b"The JSON is nested more than 32 levels deep.\n"
    assert EngagementEvent.objects.count() == 0


def test_deep_unsigned_webhook_body_is_refused_before_it_is_parsed(setup, no_error_logs):
    send, _ = setup
    body = b'{"token": "' + send.token.encode() + b'", "x": ' + DEEP + b"}"
    response = Client(raise_request_exception=False).post(
        "/webhooks/email/bounce", body, content_type="application/json", HTTP_X_THANKVIEW_SIGNATURE="sha256=00"
    )
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid signature."}
    # No token at all: nothing to verify against, refused without parsing.
    response = Client(raise_request_exception=False).post("/webhooks/email/bounce", DEEP, content_type="application/json")
    assert response.status_code == 400
    assert EngagementEvent.objects.count() == 0


def test_deep_signed_webhook_body_is_a_400(setup, no_error_logs):
    send, _ = setup
    secret = services.portal_email_settings_get(portal=send.campaign.portal).bounce_webhook_secret
    body = b'{"token": "' + send.token.encode() + b'", "x": ' + DEEP + b"}"
    response = Client(raise_request_exception=False).post(
        "/webhooks/email/bounce", body, content_type="application/json",
        HTTP_X_THANKVIEW_SIGNATURE=services.bounce_signature(secret=secret, body=body),
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "The JSON is nested more than 32 levels deep."}
    assert EngagementEvent.objects.count() == 0


def test_signed_webhook_with_a_different_token_inside_is_refused(setup):
    send, _ = setup
    other = make_send(send.campaign.portal, email="other@example.org")
    secret = services.portal_email_settings_get(portal=send.campaign.portal).bounce_webhook_secret
    # The first "token" field is the one signed for; a later duplicate key must not win.
    body = json.dumps({"token": send.token}).encode()[:-1] + b', "token": "' + other.token.encode() + b'"}'
    response = Client().post(
        "/webhooks/email/bounce", body, content_type="application/json",
        HTTP_X_THANKVIEW_SIGNATURE=services.bounce_signature(secret=secret, body=body),
    )
    assert response.status_code == 400
    assert EngagementEvent.objects.count() == 0


def test_parser_limits_and_messages():
    assert jsonbody.parse(b'{"a": [[1]]}') == {"a": [[1]]}
    # Brackets inside strings are text, not nesting.
    assert jsonbody.parse(b'{"a": "' + b"[" * 100 + b'"}') == {"a": "[" * 100}
    assert jsonbody.parse(b"[" * 32 + b"]" * 32) is not None
    with pytest.raises(jsonbody.BadJsonBody, match="nested more than 32 levels"):
        jsonbody.parse(b"[" * 33 + b"]" * 33)
    # Malformed bracketing that the depth scan cannot reduce still gets a 400, not a RecursionError.
    with pytest.raises(jsonbody.BadJsonBody) as bad:
        jsonbody.parse(b"[" * 1500 + b"}")
    assert bad.value.status == 400
    with pytest.raises(jsonbody.BadJsonBody, match=r"not valid JSON \(line 1, column 2\)"):
        jsonbody.parse(b"{oops")
    with pytest.raises(jsonbody.BadJsonBody) as big:
        jsonbody.parse(b"[" + b"1," * 100 + b"1]", max_bytes=100)
    assert (big.value.status, big.value.message) == (413, "The body is larger than 100 bytes.")
    with pytest.raises(jsonbody.BadJsonBody, match="not UTF-8"):
        jsonbody.parse(b'"\xff\xfe\xfa"')


@pytest.mark.parametrize("when", ["2024-01-21T22:16:02+22:11", "2024-06-01T00:00:00-23:59"])
def test_timestamps_with_offsets_postgresql_refuses_are_stored_in_utc(setup, when):
    from datetime import datetime

    send, headers = setup
    body = {"events": [{"send_id": send.pk, "type": "opened", "occurred_at": when}]}
    response = Client().post("/api/v1/events", json.dumps(body), content_type="application/json", headers=headers)
    assert response.status_code == 200 and response.json()["stored"] == 1
    assert EngagementEvent.objects.get().occurred_at == datetime.fromisoformat(when)
    sends = {"recipients": [{"email": "off@example.org"}], "sent_at": when}
    response = Client().post(f"/api/v1/campaigns/{send.campaign_id}/sends", json.dumps(sends),
                             content_type="application/json", headers=headers)
    assert response.status_code == 201
    assert Send.objects.get(contact__email="off@example.org").sent_at == datetime.fromisoformat(when)
