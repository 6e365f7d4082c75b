"""The guide's five error banners, each produced by a real-shaped simulator fault and
cleared when the fault is gone; admins get one email per new problem."""

import pytest
from django.core import mail
from django.urls import reverse

from contacts.models import Contact
from contacts.services import contact_update, contact_upsert_many
from integrations.models import SalesforceConnection

pytestmark = pytest.mark.django_db


def settings_url(portal):
    return reverse("integrations:salesforce_settings", args=[portal.slug])


def check(client, portal):
    resp = client.post(reverse("integrations:salesforce_check", args=[portal.slug]))
    assert resp.status_code == 302
    return client.get(settings_url(portal)).content.decode()


def banner_kinds(html):
    import re

    return re.findall(r'data-banner="(\w+)"', html)


def conn_of(portal):
    return SalesforceConnection.objects.get(portal=portal)


def test_session_expired_banner_with_reconnect_and_one_email(
    client_admin_a, connected_portal_a, sim, sf_connect, django_capture_on_commit_callbacks
):
    assert banner_kinds(check(client_admin_a, connected_portal_a)) == []
    sim.fault("revoke_refresh_tokens")
    with django_capture_on_commit_callbacks(execute=True):
        html = check(client_admin_a, connected_portal_a)
    assert banner_kinds(html) == ["session_expired"]
    assert "Session or Connection Expired" in html
    assert "Click Reconnect on this banner." in html
    assert "invalid_grant" in html and "expired access/refresh token" in html  # detail
    assert ">Reconnect</button>" in html
    c = conn_of(connected_portal_a)
    assert c.status == "expired" and c.error_kind == "session_expired" and c.error_since
    assert len(mail.outbox) == 1 and "Session or Connection Expired" in mail.outbox[0].subject
    assert mail.outbox[0].to == ["ada@alpha.example"]

    # The next check (or sync run) hits the same problem: still one email.
    with django_capture_on_commit_callbacks(execute=True):
        check(client_admin_a, connected_portal_a)
    assert len(mail.outbox) == 1

    # Reconnect clears it.
    sf_connect(client_admin_a, connected_portal_a)
    html = client_admin_a.get(settings_url(connected_portal_a)).content.decode()
    assert banner_kinds(html) == []
    assert conn_of(connected_portal_a).status == "connected"


def test_permissions_banner_from_api_disabled(client_admin_a, connected_portal_a, sim):
    sim.fault("api_disabled")
    html = check(client_admin_a, connected_portal_a)
    assert banner_kinds(html) == ["permissions"]
    assert "Ensure the “API Enabled” box is checked for your profile." in html
    assert "API_DISABLED_FOR_ORG" in html
    sim.clear_faults()
    assert banner_kinds(check(client_admin_a, connected_portal_a)) == []


def test_permissions_banner_from_object_not_createable(client_admin_a, connected_portal_a, sim):
    sim.fault("no_access")
    html = check(client_admin_a, connected_portal_a)
    assert banner_kinds(html) == ["permissions"]
    assert 'data-key="access"' in html and 'data-status="fail"' in html
    sim.clear_faults()
    assert banner_kinds(check(client_admin_a, connected_portal_a)) == []


def test_mapping_banner_from_deleted_field_then_fixed_by_removing_the_mapping(client_admin_a, connected_portal_a, sim):
    sim.remove_field("ThankView__c", "Bounced__c")
    html = check(client_admin_a, connected_portal_a)
    assert banner_kinds(html) == ["mapping"]
    assert "Bounced__c" in html and "update or remove that mapping" in html
    c = conn_of(connected_portal_a)
    assert c.error_code == "INVALID_FIELD" and "Bounced__c" in c.error_detail["fields"]

    mapping = connected_portal_a.salesforce_mappings.get(target_field="Bounced__c")
    client_admin_a.post(reverse("integrations:mapping_remove", args=[connected_portal_a.slug, mapping.pk]))
    html = client_admin_a.get(settings_url(connected_portal_a)).content.decode()
    assert banner_kinds(html) == []


def test_mapping_banner_from_newly_required_field_then_fixed_by_adding_a_mapping(client_admin_a, connected_portal_a, sim):
    sim.add_field("ThankView__c", "Donor_ID__c", "string", required=True)
    html = check(client_admin_a, connected_portal_a)
    assert banner_kinds(html) == ["mapping"]
    assert "Donor_ID__c" in html
    assert conn_of(connected_portal_a).error_code == "REQUIRED_FIELD_MISSING"
    resp = client_admin_a.post(
        reverse("integrations:mapping_add", args=[connected_portal_a.slug]),
        {"target_field": "Donor_ID__c", "source": "contact.donor_id"},
    )
    assert resp.status_code == 302
    assert banner_kinds(client_admin_a.get(settings_url(connected_portal_a)).content.decode()) == []


def test_mapping_banner_cleared_when_field_comes_back(client_admin_a, connected_portal_a, sim):
    sim.remove_field("ThankView__c", "Views__c")
    assert banner_kinds(check(client_admin_a, connected_portal_a)) == ["mapping"]
    sim.add_field("ThankView__c", "Views__c", "double")
    assert banner_kinds(check(client_admin_a, connected_portal_a)) == []


def test_unable_to_connect_banner_after_retries(client_admin_a, connected_portal_a, sim, settings):
    sim.reset_stats()
    sim.fault("unavailable")
    html = check(client_admin_a, connected_portal_a)
    assert sim.stats()["by_kind"]["describe"] == settings.SALESFORCE_RETRY_ATTEMPTS  # retried, bounded
    assert banner_kinds(html) == ["connection"]
    assert "Unable to Connect to Salesforce" in html and "status.salesforce.com" in html
    assert "SERVER_UNAVAILABLE" in html
    sim.clear_faults()
    assert banner_kinds(check(client_admin_a, connected_portal_a)) == []


def test_invalid_salesforce_id_banner_counts_contacts_and_links_to_filter(client_admin_a, connected_portal_a, sim):
    contact_upsert_many(
        portal=connected_portal_a,
        rows=[
            {"email": "a@x.org", "donor_id": "1004422"},
            {"email": "b@x.org", "donor_id": "001D000000IRFmaIAH"},  # an Account id: not a Contact
            {"email": "c@x.org", "donor_id": "003RO0000035WQgYAM"},
        ],
    )
    html = client_admin_a.get(settings_url(connected_portal_a)).content.decode()
    assert banner_kinds(html) == ["invalid_id"]
    assert "2 contacts have an invalid Salesforce ID" in html
    assert reverse("contacts:list", args=[connected_portal_a.slug]) + "?filter=invalid" in html
    for c in Contact.objects.filter(portal=connected_portal_a, donor_id_status="invalid"):
        contact_update(contact=c, donor_id="")
    assert banner_kinds(client_admin_a.get(settings_url(connected_portal_a)).content.decode()) == []


def test_salesforce_rejects_a_malformed_id_as_invalid_id(connected_portal_a, sim):
    from integrations.salesforce import errors
    from integrations.salesforce.client import SalesforceClient

    [res] = SalesforceClient(conn_of(connected_portal_a)).collection_create([{"Contact__c": "1004422", "Event_Name__c": "x"}])
    assert not res.ok and isinstance(res.exception(), errors.InvalidId)


def test_banners_on_every_page_for_admins_settings_page_for_everyone(
    client_admin_a, client_staff_a, connected_portal_a, sim
):
    sim.fault("api_disabled")
    check(client_admin_a, connected_portal_a)
    contacts_url = reverse("contacts:list", args=[connected_portal_a.slug])
    assert banner_kinds(client_admin_a.get(contacts_url).content.decode()) == ["permissions"]
    assert banner_kinds(client_staff_a.get(contacts_url).content.decode()) == []
    assert banner_kinds(client_staff_a.get(settings_url(connected_portal_a)).content.decode()) == ["permissions"]


def test_banner_context_costs_two_queries(client_admin_a, connected_portal_a, sim, django_assert_num_queries):
    from django.test import RequestFactory

    from integrations.salesforce.banners import banners

    # Both kinds of banner at once: a stored connection problem and contacts with invalid IDs.
    sim.fault("api_disabled")
    check(client_admin_a, connected_portal_a)
    contact_upsert_many(
        portal=connected_portal_a,
        rows=[
            {"email": "a@x.org", "donor_id": "1004422"},
            {"email": "b@x.org", "donor_id": "001D000000IRFmaIAH"},
            {"email": "c@x.org", "donor_id": "003RO0000035WQgYAM"},
        ],
    )
    from django.urls import resolve

    req = RequestFactory().get(settings_url(connected_portal_a))
    req.resolver_match = resolve(req.path)
    req.portal = connected_portal_a
    req.membership = connected_portal_a.memberships.get(role="admin")
    with django_assert_num_queries(2):
        context = banners(req)

    permissions, invalid = context["salesforce_banners"]
    assert (permissions["kind"], permissions["code"]) == ("permissions", "API_DISABLED_FOR_ORG")
    assert permissions["text"]["title"] == "Insufficient Permissions or API Access Disabled"
    assert permissions["since"] == conn_of(connected_portal_a).error_since
    assert (invalid["kind"], invalid["count"]) == ("invalid_id", 2)
    assert invalid["contacts_url"] == "/alpha/contacts/?filter=invalid"
    assert context["salesforce_banner_connection"].pk == conn_of(connected_portal_a).pk
    assert context["salesforce_banner_is_admin"] is True
