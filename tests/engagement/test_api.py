"""REST API v1: every endpoint's success and failure paths, and portal isolation."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from engagement import services
from engagement.models import Campaign, EngagementEvent, Send
from tests.contacts.factories import make_contact
from tests.engagement.factories import make_api_key, make_campaign, make_send


class Api:
    def __init__(self, raw_key):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {raw_key}"} if raw_key else {}

    def post(self, path, payload=None, raw=None):
        body = raw if raw is not None else json.dumps(payload)
        return self.client.post(f"/api/v1{path}", body, content_type="application/json", headers=self.headers)

    def get(self, path):
        return self.client.get(f"/api/v1{path}", headers=self.headers)


@pytest.fixture
def api_a(portal_a):
    return Api(make_api_key(portal_a)[1])


@pytest.fixture
def api_b(portal_b):
    return Api(make_api_key(portal_b)[1])


# --- Authentication ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer tvk_nope_nope", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 500, "Token abc"],
)
def test_requests_without_a_valid_key_are_401(portal_a, header):
    client = Client()
    headers = {"Authorization": header} if header else {}
    response = client.post("/api/v1/campaigns", json.dumps({"name": "x", "video_url": "https://v.example"}),
                           content_type="application/json", headers=headers)
    assert response.status_code == 401
    assert Campaign.objects.count() == 0


def test_a_revoked_key_is_refused(portal_a):
    key, raw = make_api_key(portal_a)
    services.apikey_revoke(apikey=key)
    assert Api(raw).get("/sends/1").status_code == 401


def test_a_key_with_the_right_prefix_but_wrong_secret_is_refused(portal_a):
    _, raw = make_api_key(portal_a)
    assert Api(raw[:-3] + "abc").get("/sends/1").status_code == 401


def test_use_is_recorded_on_the_key(portal_a):
    key, raw = make_api_key(portal_a)
    Api(raw).get("/sends/1")
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_openapi_schema_and_docs_are_served():
    schema = Client().get("/api/v1/openapi.json").json()
    assert {"/api/v1/campaigns", "/api/v1/campaigns/{campaign_id}/sends", "/api/v1/events", "/api/v1/sends/{send_id}"} <= set(schema["paths"])
    body = schema["paths"]["/api/v1/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["events"]["maxItems"] == 1000
    assert Client().get("/api/v1/docs").status_code == 200


# --- POST /campaigns ---------------------------------------------------------------------


def test_create_campaign(api_a, portal_a):
    r = api_a.post("/campaigns", {"name": "API campaign", "video_url": "https://v.example/a.mp4",
                                  "cta_label": "Give", "cta_url": "https://give.example"})
    assert r.status_code == 201
    campaign = Campaign.objects.get(pk=r.json()["id"])
    assert campaign.portal == portal_a and campaign.name == "API campaign"


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"video_url": "https://v.example"}, "name"),
        ({"name": "x", "video_url": "ftp://v.example/a"}, "video_url"),
        ({"name": "x", "video_url": "not a url"}, "video_url"),
        ({"name": "x", "video_url": "https://v.example", "cta_url": "https://give.example"}, "cta_label"),
        ({"name": "x" * 201, "video_url": "https://v.example"}, "name"),
        ({"name": 5, "video_url": "https://v.example"}, "name"),
    ],
)
def test_create_campaign_refuses_bad_input(api_a, payload, field):
    r = api_a.post("/campaigns", payload)
    assert r.status_code == 422
    assert field in json.dumps(r.json()["detail"])
    assert Campaign.objects.count() == 0


# --- POST /campaigns/{id}/sends ----------------------------------------------------------


def test_create_sends_upserts_contacts_and_returns_landing_urls(api_a, portal_a, django_capture_on_commit_callbacks, mailoutbox):
    campaign = make_campaign(portal_a)
    existing = make_contact(portal_a, email="known@example.org", first_name="Kim")
    sent_at = "2025-05-01T10:00:00Z"
    with django_capture_on_commit_callbacks(execute=True):
        r = api_a.post(f"/campaigns/{campaign.pk}/sends", {
            "recipients": [
                {"email": "KNOWN@example.org", "donor_id": "0035g00000AbCdE"},
                {"email": "new@example.org", "first_name": "Nia", "last_name": "Obi"},
                {"email": "not-an-email"},
            ],
            "sent_at": sent_at,
        })
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["created"] == 2
    by_email = {s["email"].lower(): s for s in body["sends"]}
    assert set(by_email) == {"known@example.org", "new@example.org"}
    send = Send.objects.get(pk=by_email["new@example.org"]["id"])
    assert by_email["new@example.org"]["landing_url"] == send.landing_url
    assert send.sent_at.isoformat() == "2025-05-01T10:00:00+00:00"
    assert send.contact.first_name == "Nia"
    existing.refresh_from_db()
    assert existing.first_name == "Kim" and existing.donor_id == "0035g00000AbCdE"
    assert body["skipped"] and body["skipped"][0]["index"] == 2 and body["skipped"][0]["email"] == "not-an-email"
    assert len(mailoutbox) == 2


def test_create_sends_skips_unsubscribed_contacts_with_the_reason(api_a, portal_a):
    campaign = make_campaign(portal_a)
    make_contact(portal_a, email="gone@example.org", unsubscribed_at=timezone.now())
    r = api_a.post(f"/campaigns/{campaign.pk}/sends", {"recipients": [{"email": "gone@example.org"}]})
    assert r.status_code == 201
    assert r.json()["sends"] == [] and r.json()["skipped"][0]["reason"].startswith("Unsubscribed")
    assert Send.objects.count() == 0


@pytest.mark.parametrize(
    "payload",
    [
        {"recipients": []},
        {},
        {"recipients": [{"first_name": "no email"}]},
        {"recipients": [{"email": "a@example.org"}], "sent_at": "yesterday"},
        {"recipients": [{"email": "a@example.org"}], "sent_at": "2025-05-01T10:00:00"},  # no timezone
        {"recipients": [{"email": "a@example.org"}] * 1001},
    ],
)
def test_create_sends_refuses_bad_input(api_a, portal_a, payload):
    campaign = make_campaign(portal_a)
    r = api_a.post(f"/campaigns/{campaign.pk}/sends", payload)
    assert r.status_code == 422
    assert Send.objects.count() == 0


def test_sends_of_another_portals_campaign_are_404(api_b, portal_a):
    campaign = make_campaign(portal_a)
    r = api_b.post(f"/campaigns/{campaign.pk}/sends", {"recipients": [{"email": "x@example.org"}]})
    assert r.status_code == 404
    assert Send.objects.count() == 0
    assert api_b.post("/campaigns/99999999/sends", {"recipients": [{"email": "x@example.org"}]}).status_code == 404
    assert api_b.post("/campaigns/99999999999999999999999/sends", {"recipients": [{"email": "x@example.org"}]}).status_code == 422


# --- POST /events ------------------------------------------------------------------------


def test_events_batch_stores_good_items_and_reports_bad_ones_by_index(api_a, portal_a, portal_b):
    send = make_send(portal_a)
    foreign = make_send(portal_b)
    future = (timezone.now() + timedelta(days=1)).isoformat()
    items = [
        {"send_id": send.pk, "type": "opened", "occurred_at": "2025-05-01T10:00:00Z"},  # 0 ok
        {"send_id": send.pk, "type": "teleported"},  # 1
        {"send_id": send.pk, "type": "text_reply", "text": "Thanks!"},  # 2 ok
        {"send_id": foreign.pk, "type": "opened"},  # 3 another portal's send
        {"send_id": send.pk, "type": "opened", "occurred_at": "not a date"},  # 4
        {"send_id": send.pk, "type": "opened", "occurred_at": future},  # 5
        {"send_id": send.pk, "type": "text_reply"},  # 6 no text
        {"send_id": send.pk, "type": "video_reply", "url": "javascript:alert(1)"},  # 7
        {"send_id": "12", "type": "opened"},  # 8
        "opened",  # 9
        {"send_id": send.pk, "type": "video_reply", "url": "https://v.example/r.mp4"},  # 10 ok
        {"send_id": send.pk, "type": "opened", "occurred_at": "2025-05-01T10:00:00"},  # 11 naive
        {"send_id": 987654321, "type": "opened"},  # 12 unknown
    ]
    r = api_a.post("/events", {"events": items})
    assert r.status_code == 200
    body = r.json()
    assert body["stored"] == 3
    assert [e["index"] for e in body["errors"]] == [1, 3, 4, 5, 6, 7, 8, 9, 11, 12]
    reasons = {e["index"]: e["reason"] for e in body["errors"]}
    assert reasons[3] == reasons[12].replace("987654321", str(foreign.pk))  # no existence leak
    assert "timezone" in reasons[11] and "future" in reasons[5]
    stored = list(EngagementEvent.objects.order_by("id").values_list("send_id", "type"))
    assert stored == [(send.pk, "opened"), (send.pk, "text_reply"), (send.pk, "video_reply")]
    assert EngagementEvent.objects.filter(send=foreign).count() == 0


def test_events_from_the_api_drive_the_send_state(api_a, portal_a):
    send = make_send(portal_a)
    r = api_a.post("/events", [
        {"send_id": send.pk, "type": "started_watching", "occurred_at": "2025-05-01T10:00:00Z"},
        {"send_id": send.pk, "type": "started_watching", "occurred_at": "2025-05-01T10:00:00Z"},  # duplicate
        {"send_id": send.pk, "type": "unsubscribed"},
    ])
    assert r.status_code == 200 and r.json()["stored"] == 3
    state = api_a.get(f"/sends/{send.pk}").json()["state"]
    assert state["views"] == 1 and state["opened"] and state["unsubscribed"]
    send.contact.refresh_from_db()
    assert send.contact.unsubscribed_at is not None


def test_an_all_bad_batch_is_422_and_stores_nothing(api_a):
    r = api_a.post("/events", {"events": [{"send_id": 1, "type": "nope"}]})
    assert r.status_code == 422 and r.json()["errors"][0]["index"] == 0
    assert EngagementEvent.objects.count() == 0


@pytest.mark.parametrize(
    "raw,status",
    [
        (b"{not json", 400),
        (b'{"events": "opened"}', 400),
        (b'"just a string"', 400),
        (b"\xff\xfe", 400),
    ],
)
def test_events_refuse_malformed_bodies(api_a, raw, status):
    r = api_a.post("/events", raw=raw)
    assert r.status_code == status
    assert "detail" in r.json()
    assert EngagementEvent.objects.count() == 0


def test_a_batch_over_the_limit_is_422_like_any_refused_batch(api_a):
    r = api_a.post("/events", raw=json.dumps({"events": [{"send_id": 1, "type": "opened"}] * 1001}).encode())
    assert r.status_code == 422
    assert r.json() == {"stored": 0, "errors": [{"index": None, "reason": "A batch holds at most 1000 events; got 1001."}]}
    assert EngagementEvent.objects.count() == 0


def test_oversized_body_is_413(api_a, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    r = api_a.post("/events", {"events": [{"send_id": 1, "type": "opened", "text": "x" * 2000}]})
    assert r.status_code == 413
    assert EngagementEvent.objects.count() == 0


def test_events_need_a_key(portal_a):
    send = make_send(portal_a)
    assert Api(None).post("/events", {"events": [{"send_id": send.pk, "type": "opened"}]}).status_code == 401
    assert EngagementEvent.objects.count() == 0


# --- GET /sends/{id} ---------------------------------------------------------------------


def test_get_send_returns_state_and_salesforce_hook(api_a, portal_a):
    send = make_send(portal_a, email="s@example.org", donor_id="0035g00000AbCdE")
    services.event_record(send=send, type="text_reply", data={"text": "y" * 300})
    body = api_a.get(f"/sends/{send.pk}").json()
    assert body["id"] == send.pk and body["email"] == "s@example.org" and body["landing_url"] == send.landing_url
    assert body["state"]["opened"] is True and body["state"]["text_reply"] == "y" * 300
    assert body["state"]["text_reply_255"] == "y" * 255
    # The status slot of engagement.extensions, filled by the Salesforce integration.
    assert "salesforce" in body
    assert body["delivery"] == {"status": "pending", "emailed_at": None, "failed_at": None, "error": ""}


def test_get_send_reports_a_delivery_that_failed_for_good(api_a, portal_a):
    send = make_send(portal_a)
    Send.objects.filter(pk=send.pk).update(email_failed_at=timezone.now(), email_error="SMTPRecipientsRefused: 550")
    delivery = api_a.get(f"/sends/{send.pk}").json()["delivery"]
    assert delivery["status"] == "failed" and delivery["error"] == "SMTPRecipientsRefused: 550"
    assert delivery["failed_at"] is not None and delivery["emailed_at"] is None


def test_get_send_of_another_portal_is_404_like_a_missing_one(api_b, portal_a):
    send = make_send(portal_a)
    foreign = api_b.get(f"/sends/{send.pk}")
    missing = api_b.get("/sends/987654321")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    assert api_b.get("/sends/abc").status_code == 422
    assert api_b.get("/sends/0").status_code == 422
