"""Engagement test data, created through the services like production."""

import itertools

from engagement import jobs, services
from tests.contacts.factories import make_contact

_seq = itertools.count(1)


def make_campaign(portal, **overrides):
    values = {
        "name": f"Campaign {next(_seq)}",
        "video_url": "https://videos.example.org/thanks.webm",
        "cta_label": "Give again",
        "cta_url": "https://give.example.org/now",
    }
    values.update(overrides)
    return services.campaign_create(portal=portal, **values)


def make_send(portal, *, campaign=None, contact=None, **contact_fields):
    campaign = campaign or make_campaign(portal)
    contact = contact or make_contact(portal, **contact_fields)
    result = jobs.campaign_send(campaign=campaign, contacts_qs_or_ids=[contact.pk])
    assert len(result.sends) == 1, result
    return result.sends[0]


def make_api_key(portal, name="Tests"):
    key, raw = services.apikey_create(portal=portal, name=name)
    return key, raw
