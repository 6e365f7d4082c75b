"""One date format on every portal page, in the portal's time zone, with exact UTC on hover."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from engagement.models import Campaign
from tests.engagement.factories import make_campaign

CREATED = datetime(2026, 1, 15, 15, 4, 5, tzinfo=UTC)


def _campaign_list(client, portal):
    campaign = make_campaign(portal, name="Winter thanks")
    Campaign.objects.filter(pk=campaign.pk).update(created_at=CREATED)
    return client.get(reverse("engagement:campaign_list", args=[portal.slug])).content.decode()


def test_a_new_portal_shows_utc(client_admin_a, portal_a):
    assert portal_a.time_zone == "UTC"
    page = _campaign_list(client_admin_a, portal_a)
    assert '<time datetime="2026-01-15T15:04:05Z" title="2026-01-15 15:04:05 UTC">15 Jan 2026, 15:04 UTC</time>' in page


def test_dates_follow_the_portal_time_zone_with_utc_on_hover(client_admin_a, portal_a):
    portal_a.time_zone = "America/New_York"
    portal_a.save()
    page = _campaign_list(client_admin_a, portal_a)
    assert '<time datetime="2026-01-15T15:04:05Z" title="2026-01-15 15:04:05 UTC">15 Jan 2026, 10:04 EST</time>' in page


def test_the_time_zone_does_not_leak_into_the_next_request(client_admin_a, client_b, portal_a, portal_b):
    portal_a.time_zone = "Asia/Tokyo"
    portal_a.save()
    assert "16 Jan 2026, 00:04 JST" in _campaign_list(client_admin_a, portal_a)
    assert "15 Jan 2026, 15:04 UTC" in _campaign_list(client_b, portal_b)


def test_an_unknown_time_zone_is_refused_with_its_name(portal_a):
    portal_a.time_zone = "Mars/Olympus"
    with pytest.raises(ValidationError) as e:
        portal_a.full_clean()
    assert e.value.message_dict["time_zone"] == [
        "“Mars/Olympus” is not a time zone name; use one like Europe/London or America/New_York."
    ]
