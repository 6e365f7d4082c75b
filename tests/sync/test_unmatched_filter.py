"""The Contacts page's "No Salesforce match" filter (DESIGN §4) follows what the sync found."""

import pytest
from django.urls import reverse

from integrations.models import SalesforceConnection
from tests.sync.conftest import run_sync

pytestmark = pytest.mark.django_db


def _unmatched_page(client, portal):
    return client.get(reverse("contacts:list", args=[portal.slug]), {"filter": "unmatched"}).content.decode()


def test_unmatched_filter_lists_contacts_the_sync_could_not_match_until_fixed(
    sync_conn, sim, make_send, portal_a, client_staff_a
):
    sim.seed("Contact", [{"LastName": "Found", "Email": "found@x.org"}])
    make_send(email="found@x.org")
    missing = make_send(email="typo@x.org").contact
    run_sync(portal_a)

    body = _unmatched_page(client_staff_a, portal_a)
    assert "typo@x.org" in body and "found@x.org" not in body

    # The person is added in Salesforce; the next run matches them and they drop out.
    sim.seed("Contact", [{"LastName": "Typo", "Email": missing.email}])
    run_sync(portal_a)
    body = _unmatched_page(client_staff_a, portal_a)
    assert "typo@x.org" not in body
    assert "Every synced contact has a match in Salesforce." in body


def test_unmatched_filter_counts_only_the_connected_org(sync_conn, make_send, portal_a, client_staff_a):
    make_send(email="typo@x.org")
    run_sync(portal_a)
    assert "typo@x.org" in _unmatched_page(client_staff_a, portal_a)

    # Reconnected to another org: the old org's "no match" says nothing about the new one.
    SalesforceConnection.objects.filter(pk=sync_conn.pk).update(org_id="00D000000000001AAA")
    assert "typo@x.org" not in _unmatched_page(client_staff_a, portal_a)


def test_unmatched_filter_is_portal_scoped(sync_conn, make_send, portal_a, client_b):
    make_send(email="typo@x.org")
    run_sync(portal_a)
    assert client_b.get(reverse("contacts:list", args=[portal_a.slug]), {"filter": "unmatched"}).status_code == 404
    assert "typo@x.org" not in client_b.get(reverse("contacts:list", args=["beta"]), {"filter": "unmatched"}).content.decode()
