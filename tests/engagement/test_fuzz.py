"""Bad input never gets a 500: Hypothesis throws arbitrary JSON, bytes, forms and paths at
every API and recipient endpoint. The Django test client re-raises server errors, so any
unhandled exception fails the test, as does any 5xx."""

import json
import os

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engagement import services
from engagement.models import Campaign, EngagementEvent
from tests.engagement.factories import make_api_key, make_send

# FUZZ_EXAMPLES=1000 for a longer hunt; the default keeps the suite fast.
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Any text, including what databases choke on: NUL and lone surrogates (JSON escapes them).
_text = st.text(max_size=40)
_form_text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)  # form posts are UTF-8
_scalars = st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=False) | _text
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4), max_leaves=12)
_datey = st.sampled_from(["2025-03-01T12:00:00Z", "2025-03-01T12:00:00", "2999-01-01T00:00:00Z", "1900-01-01T00:00:00+00:00",
                          "0001-01-01T00:00:00+14:00", "not a date", "", "2025-13-45T99:99:99Z"]) | _text
_event_item = st.fixed_dictionaries(
    {},
    optional={
        "send_id": st.integers(min_value=-(2**70), max_value=2**70) | _scalars,
        "type": st.sampled_from(["opened", "text_reply", "video_reply", "bounced", "unsubscribed", "OPENED", ""]) | _text,
        "occurred_at": _datey | _scalars,
        "text": _text | _scalars,
        "url": st.sampled_from(["https://v.example/a", "javascript:alert(1)", "http://", "https://\x00.example"]) | _text,
    },
)


@pytest.fixture
def setup(portal_a):
    send = make_send(portal_a)
    _, raw = make_api_key(portal_a)
    return send, {"Authorization": f"Bearer {raw}"}


def _ok(response):
    assert response.status_code < 500, (response.status_code, response.content[:300])
    return response


@FUZZ
@given(body=st.one_of(_json, st.fixed_dictionaries({"events": st.lists(_event_item | _json, max_size=8)}),
                      st.lists(_event_item, max_size=8)))
def test_events_endpoint_never_500s(setup, body):
    _, headers = setup
    _ok(Client().post("/api/v1/events", json.dumps(body), content_type="application/json", headers=headers))


@FUZZ
@given(raw=st.binary(max_size=200))
def test_events_endpoint_survives_arbitrary_bytes(setup, raw):
    _, headers = setup
    _ok(Client().post("/api/v1/events", raw, content_type="application/json", headers=headers))


@FUZZ
@given(body=_json | st.fixed_dictionaries({}, optional={"name": _text | _scalars, "video_url": _text | _scalars,
                                                         "cta_label": _text | _scalars, "cta_url": _text | _scalars}))
def test_create_campaign_never_500s_and_stores_nothing_on_failure(setup, body):
    _, headers = setup
    before = Campaign.objects.count()
    r = _ok(Client().post("/api/v1/campaigns", json.dumps(body), content_type="application/json", headers=headers))
    assert Campaign.objects.count() == before + (1 if r.status_code == 201 else 0)


@FUZZ
@given(
    recipients=st.lists(
        st.fixed_dictionaries({}, optional={"email": _text | st.emails() | _scalars, "donor_id": _text | _scalars,
                                            "first_name": _text | _scalars, "last_name": _text | _scalars}) | _json,
        max_size=4,
    ),
    sent_at=_datey | _scalars,
)
def test_create_sends_never_500s(setup, recipients, sent_at):
    send, headers = setup
    body = {"recipients": recipients, "sent_at": sent_at}
    _ok(Client().post(f"/api/v1/campaigns/{send.campaign_id}/sends", json.dumps(body),
                      content_type="application/json", headers=headers))


@FUZZ
@given(segment=_form_text.filter(lambda s: "/" not in s and "?" not in s and "#" not in s and s.strip()))
def test_get_send_never_500s(setup, segment):
    _, headers = setup
    from urllib.parse import quote

    _ok(Client().get(f"/api/v1/sends/{quote(segment)}", headers=headers))


@FUZZ
@given(raw=st.binary(max_size=200) | _json.map(lambda v: json.dumps(v).encode()), signature=_form_text)
def test_bounce_webhook_never_500s(setup, raw, signature):
    _ok(Client().post("/webhooks/email/bounce", raw, content_type="application/json",
                      HTTP_X_THANKVIEW_SIGNATURE=signature))


@FUZZ
@given(token=_form_text, body=_json)
def test_recipient_endpoints_never_500(setup, token, body):
    from urllib.parse import quote

    send, _ = setup
    for t in (quote(token, safe="") or "x", send.token):
        client = Client()
        _ok(client.post(f"/v/{t}/events/", json.dumps(body), content_type="application/json"))
        _ok(client.post(f"/v/{t}/reply/text/", {"text-text": token}))
        _ok(client.post(f"/v/{t}/reply/video/", {"video-url": token}))
        _ok(client.get(f"/t/{t}/open.gif"))
        _ok(client.get(f"/v/{t}/"))


@FUZZ
@given(text=_text, occurred=_datey)
def test_signed_bounce_with_odd_content_never_500s(setup, text, occurred):
    send, _ = setup
    secret = services.portal_email_settings_get(portal=send.campaign.portal).bounce_webhook_secret
    body = json.dumps({"token": send.token, "reason": text, "occurred_at": occurred}).encode()
    before = EngagementEvent.objects.filter(send=send, type="bounced").count()
    r = _ok(Client().post("/webhooks/email/bounce", body, content_type="application/json",
                          HTTP_X_THANKVIEW_SIGNATURE=services.bounce_signature(secret=secret, body=body)))
    after = EngagementEvent.objects.filter(send=send, type="bounced").count()
    assert after == before + (1 if r.status_code == 200 else 0)
