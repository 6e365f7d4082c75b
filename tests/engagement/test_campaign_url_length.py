"""Campaign links fit a Salesforce URL field (255 characters): the form shows a field error,
the API answers 422 naming the field, and nothing is stored."""

import json

import pytest
from django.test import Client

from engagement.models import Campaign
from tests.engagement.factories import make_api_key

pytestmark = pytest.mark.django_db

BASE = "https://videos.example.org/"
FITS = BASE + "v" * (255 - len(BASE))  # exactly 255 characters
TOO_LONG = FITS + "x"  # 256


def _api(portal, payload):
    raw = make_api_key(portal)[1]
    return Client().post("/api/v1/campaigns", json.dumps(payload), content_type="application/json",
                         headers={"Authorization": f"Bearer {raw}"})


@pytest.mark.parametrize("field", ["video_url", "cta_url"])
def test_api_refuses_a_link_longer_than_255_naming_the_field(portal_a, field):
    payload = {"name": "Year-end", "video_url": "https://v.example/a.webm", "cta_label": "Give", "cta_url": "https://give.example"}
    payload[field] = TOO_LONG
    r = _api(portal_a, payload)
    assert r.status_code == 422
    assert r.json()["detail"] == {field: [
        "Use a link of at most 255 characters (this one has 256): Salesforce keeps it in a URL field, which holds no more."]}
    assert Campaign.objects.count() == 0


def test_api_accepts_a_link_of_exactly_255(portal_a):
    r = _api(portal_a, {"name": "Year-end", "video_url": FITS, "cta_label": "Give", "cta_url": FITS})
    assert r.status_code == 201
    assert Campaign.objects.get().video_url == FITS


def test_form_shows_a_field_error_for_a_link_longer_than_255(client_staff_a):
    response = client_staff_a.post(
        "/alpha/campaigns/new/", {"name": "Year-end", "video_url": TOO_LONG, "cta_label": "", "cta_url": ""})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Use a link of at most 255 characters (this one has 256)" in html
    assert 'id="id_video_url"' in html and 'aria-invalid="true"' in html
    assert Campaign.objects.count() == 0
