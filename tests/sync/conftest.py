"""Sync fixtures: a portal connected to sfsim (over HTTPS) with sync enabled, and helpers to
make contacts, campaigns, sends and events. The Salesforce fixtures (``sfsim``, ``sim``,
``sf_connect``, ``connected_portal_a``) come from tests/integrations/conftest.py."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.integrations.conftest import (  # noqa: F401  (re-exported fixtures)
    connected_portal_a,
    sf_authorize,
    sf_connect,
    sf_settings,
    sf_start,
    sfsim,
    sim,
)

_seq = itertools.count(1)


@pytest.fixture
def sync_conn(connected_portal_a):  # noqa: F811 (pytest fixture argument)
    """portal_a's connection with sync enabled since 10 days ago."""
    from integrations.models import SalesforceConnection
    from integrations.salesforce import support

    conn = connected_portal_a.salesforce_connection
    support.sync_enable(connection=conn)
    SalesforceConnection.objects.filter(pk=conn.pk).update(sync_enabled_at=timezone.now() - timedelta(days=10))
    conn.refresh_from_db()
    return conn


@pytest.fixture
def campaign_a(portal_a):
    from engagement.models import Campaign

    return Campaign.objects.create(portal=portal_a, name="Spring Thank You", video_url="https://videos.example.org/spring.mp4")


@pytest.fixture
def make_send(portal_a, campaign_a):
    """make_send(email=..., donor_id=..., sent_at=..., campaign=..., events=[("opened", received_at)])."""
    from engagement.models import Send
    from tests.contacts.factories import make_contact

    def _make(email=None, donor_id="", sent_at=None, campaign=None, events=(), contact=None):
        contact = contact or make_contact(portal_a, email=email or f"donor{next(_seq)}@example.org", donor_id=donor_id)
        send = Send.objects.create(
            campaign=campaign or campaign_a, contact=contact, sent_at=sent_at or timezone.now() - timedelta(hours=3)
        )
        for ev in events:
            add_event(send, *ev) if isinstance(ev, tuple) else add_event(send, ev)
        return send

    return _make


def add_event(send, type, received_at=None, data=None):
    from engagement.models import EngagementEvent

    received_at = received_at or timezone.now() - timedelta(hours=1)
    return EngagementEvent.objects.create(
        send=send, type=type, occurred_at=received_at, received_at=received_at, data=data or {}
    )


def run_sync(portal, now=None):
    """One run; returns the SyncRun (asserts a run happened)."""
    from integrations.salesforce.run import sync_portal_run

    result = sync_portal_run(portal=portal, trigger="test", now=now)
    assert result.run is not None, result.skipped
    return result.run


def record_of(send, org_id=None):
    from integrations.models import SalesforceRecord

    qs = SalesforceRecord.objects.filter(send=send)
    if org_id:
        qs = qs.filter(org_id=org_id)
    return qs.get()
