"""The REST API limits requests per key: beyond the budget a 429 with Retry-After, and the
refused request stores nothing; another key keeps its own budget."""

import json

import pytest
from django.core.cache import cache
from django.test import Client

from engagement.models import EngagementEvent
from tests.engagement.factories import make_api_key, make_send

# A window far longer than the test, so no window boundary falls inside it.
WINDOW = 10**7


@pytest.fixture(autouse=True)
def _budget(settings):
    settings.API_RATE_LIMIT = 3
    settings.API_RATE_WINDOW = WINDOW
    cache.clear()
    yield
    cache.clear()


def test_a_key_over_its_budget_gets_429_with_retry_after_and_nothing_is_stored(portal_a):
    send = make_send(portal_a)
    _, raw = make_api_key(portal_a)
    _, other = make_api_key(portal_a, name="Other")
    body = json.dumps({"events": [{"send_id": send.pk, "type": "opened"}]})

    def post(key):
        return Client().post("/api/v1/events", body, content_type="application/json", headers={"Authorization": f"Bearer {key}"})

    assert [post(raw).status_code for _ in range(3)] == [200, 200, 200]
    refused = post(raw)
    assert refused.status_code == 429
    assert refused.json() == {"detail": f"Too many requests: this key may make 3 requests every {WINDOW} seconds."}
    assert 1 <= int(refused["Retry-After"]) <= WINDOW
    assert EngagementEvent.objects.count() == 3
    assert Client().get(f"/api/v1/sends/{send.pk}", headers={"Authorization": f"Bearer {raw}"}).status_code == 429
    assert post(other).status_code == 200  # another key, its own budget
    assert EngagementEvent.objects.count() == 4


def test_a_wrong_key_does_not_spend_the_budget(portal_a):
    send = make_send(portal_a)
    _, raw = make_api_key(portal_a)
    for _ in range(5):
        assert Client().get(f"/api/v1/sends/{send.pk}", headers={"Authorization": "Bearer tv_wrong"}).status_code == 401
    assert Client().get(f"/api/v1/sends/{send.pk}", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
