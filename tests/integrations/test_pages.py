"""Settings page permissions and content; Django admin for support never shows tokens."""

import pytest
from django.urls import reverse

from integrations.models import SalesforceConnection
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "name,method",
    [
        ("integrations:salesforce_disconnect", "post"),
        ("integrations:salesforce_check", "post"),
        ("integrations:salesforce_connect", "get"),
    ],
)
def test_staff_members_cannot_change_the_connection(client_staff_a, connected_portal_a, name, method):
    resp = getattr(client_staff_a, method)(reverse(name, args=[connected_portal_a.slug]))
    assert resp.status_code == 403
    assert SalesforceConnection.objects.get(portal=connected_portal_a).has_tokens


def test_staff_read_the_settings_page_without_admin_buttons(client_staff_a, connected_portal_a):
    page = client_staff_a.get(reverse("integrations:salesforce_settings", args=[connected_portal_a.slug])).content.decode()
    assert "Connected to org" in page and "Setup checklist" in page
    assert "Disconnect" not in page and "Check again" not in page


def test_check_again_is_post_only_and_there_is_no_sync_now(client_admin_a, connected_portal_a):
    assert client_admin_a.get(reverse("integrations:salesforce_check", args=[connected_portal_a.slug])).status_code == 405
    page = client_admin_a.get(reverse("integrations:salesforce_settings", args=[connected_portal_a.slug])).content.decode()
    assert "Check again" in page
    assert "sync now" not in page.lower().replace("no “sync now” button", "")


def test_object_missing_says_how_to_create_it(client_admin_a, connected_portal_a, sim):
    sim.delete_object("ThankView__c")
    client_admin_a.post(reverse("integrations:salesforce_check", args=[connected_portal_a.slug]))
    page = client_admin_a.get(reverse("integrations:salesforce_settings", args=[connected_portal_a.slug])).content.decode()
    assert "ThankView Integration" in page
    # The fix links to the served setup guide's deploy step, never a command or a repository path.
    guide = reverse("integrations:setup_guide", args=[connected_portal_a.slug])
    assert f'<a href="{guide}#1-deploy" data-testid="guide-link">Setup guide</a>' in page
    assert "sf project" not in page and "force-app" not in page and "salesforce/ folder" not in page
    assert 'data-banner="mapping"' in page
    conn = SalesforceConnection.objects.get(portal=connected_portal_a)
    assert conn.schema_cache["object_present"] is False and conn.error_code == "OBJECT_MISSING"


def test_checklist_reports_portal_fields_and_send_id(client_admin_a, connected_portal_a, sim):
    sim.add_field("ThankView__c", "Send_Id__c", "string", external_id=True, unique=True)
    client_admin_a.post(reverse("integrations:salesforce_check", args=[connected_portal_a.slug]))
    conn = SalesforceConnection.objects.get(portal=connected_portal_a)
    assert conn.schema_cache["portal_fields_present"] is True
    assert conn.schema_cache["send_id_external"] is True
    page = client_admin_a.get(reverse("integrations:salesforce_settings", args=[connected_portal_a.slug])).content.decode()
    assert "Send_Id__c is an External ID" in page
    assert "Portal_Id__c and Portal_Name__c are present" in page


def test_renamed_contact_lookup_fails_the_checklist(client_admin_a, connected_portal_a, sim):
    """The guide's common issue: Contact__c renamed to Constituent__c."""
    sim.remove_field("ThankView__c", "Contact__c")
    sim.add_field("ThankView__c", "Constituent__c", "reference", reference_to="Contact")
    client_admin_a.post(reverse("integrations:salesforce_check", args=[connected_portal_a.slug]))
    conn = SalesforceConnection.objects.get(portal=connected_portal_a)
    assert conn.error_kind == "mapping" and "Contact__c" in conn.error_detail["fields"]
    # Support points the portal at the custom lookup in Django admin: the check passes.
    SalesforceConnection.objects.filter(pk=conn.pk).update(contact_lookup_field="Constituent__c")
    client_admin_a.post(reverse("integrations:salesforce_check", args=[connected_portal_a.slug]))
    assert SalesforceConnection.objects.get(pk=conn.pk).error_kind == ""


def test_django_admin_shows_health_and_sync_switch_never_tokens(client, connected_portal_a):
    support = UserFactory(email="support@thankview.example", is_staff=True, is_superuser=True)
    client.force_login(support)
    conn = SalesforceConnection.objects.get(portal=connected_portal_a)
    url = reverse("admin:integrations_salesforceconnection_change", args=[conn.pk])
    page = client.get(url).content.decode()
    assert conn.org_id in page
    assert 'value="enable_sync"' in page and 'value="set_contact_object"' in page  # the actions, as buttons
    for secret in (conn.access_token, conn.refresh_token, conn.access_token_enc, conn.refresh_token_enc):
        assert secret not in page
    listing = client.get(reverse("admin:integrations_salesforceconnection_changelist")).content.decode()
    assert conn.access_token_enc not in listing and conn.access_token not in listing
