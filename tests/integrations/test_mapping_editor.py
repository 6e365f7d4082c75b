"""The mapping editor: the field is chosen from ThankView__c's described fields (name, label,
type in the guide's words), the value from a list; a guide field without a mapping shows on
the checklist; the My Domain and constant boxes show only when chosen."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from integrations.models import FieldMapping


def _options(html, select_name):
    select = re.search(rf'<select name="{select_name}".*?</select>', html, re.S).group(0)
    return dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select))


def test_the_field_list_is_what_salesforce_describes_and_thankview_can_write(client_admin_a, connected_portal_a, sim):
    sim.add_field("ThankView__c", "Gift_Note__c", "string", length=80, label="Gift note")
    sim.add_field("ThankView__c", "Score__c", "double")
    sim.add_field("ThankView__c", "Account__c", "reference", reference_to="Account")
    sim.add_field("ThankView__c", "Send_Id__c", "string", external_id=True, unique=True)
    m = FieldMapping.objects.get(portal=connected_portal_a, target_field="Views__c")
    client_admin_a.post(reverse("integrations:mapping_remove", args=[connected_portal_a.slug, m.pk]))

    page = client_admin_a.get(reverse("integrations:mapping_add", args=[connected_portal_a.slug])).content.decode()
    fields = _options(page, "target_field")
    assert fields == {
        "": "Choose a field",
        "Gift_Note__c": "Gift note (Gift_Note__c) · Text",
        "Score__c": "Score (Score__c) · Number",
        "Views__c": "Views (Views__c) · Number",
    }
    sources = _options(page, "source")
    assert sources["campaign.name"] == "Campaign name (Text)"
    assert sources["send.sent_at"] == "Send date (DateTime)"
    assert sources["state.opened"] == "Opened (Checkbox)"
    assert sources["constant"] == "A constant value"


def test_editing_keeps_its_own_field_listed(client_admin_a, connected_portal_a):
    m = FieldMapping.objects.get(portal=connected_portal_a, target_field="Url__c")
    page = client_admin_a.get(reverse("integrations:mapping_edit", args=[connected_portal_a.slug, m.pk])).content.decode()
    assert '<option value="Url__c" selected>Url (Url__c) · URL</option>' in page
    assert "Video_Url__c" not in _options(page, "target_field")  # mapped by another row


def test_a_type_mismatch_is_said_in_the_guides_words(client_admin_a, connected_portal_a, sim):
    sim.add_field("ThankView__c", "Score__c", "double")
    resp = client_admin_a.post(
        reverse("integrations:mapping_add", args=[connected_portal_a.slug]), {"target_field": "Score__c", "source": "campaign.name"}
    )
    assert resp.status_code == 400
    body = resp.content.decode()
    assert "Score__c is a Number field; Campaign name (Text) cannot go into it." in body
    assert "double" not in body and "string" not in body


def test_removing_a_guide_field_mapping_shows_on_the_checklist(client_admin_a, connected_portal_a):
    settings_url = reverse("integrations:salesforce_settings", args=[connected_portal_a.slug])
    page = client_admin_a.get(settings_url).content.decode()
    assert 'data-status="ok" data-key="guide_mappings"' in page and "unmapped:" not in page

    m = FieldMapping.objects.get(portal=connected_portal_a, target_field="Shared__c")
    client_admin_a.post(reverse("integrations:mapping_remove", args=[connected_portal_a.slug, m.pk]))
    page = client_admin_a.get(settings_url).content.decode()
    item = re.search(r'<li class="warn" data-status="warn" data-key="unmapped:Shared__c">.*?</li>', page, re.S).group(0)
    assert "Shared__c has no mapping" in item
    assert "ThankView does not send Shared__c (Checkbox) to Salesforce. Add a mapping to send it again." in item
    add = reverse("integrations:mapping_add", args=[connected_portal_a.slug]) + "?field=Shared__c"
    assert f'href="{add}"' in item
    assert page.count('data-key="unmapped:') == 1
    assert 'data-testid="checklist-ok"' in page  # a warning: the sync still runs

    client_admin_a.post(reverse("integrations:mapping_add", args=[connected_portal_a.slug]), {"target_field": "Shared__c", "source": "state.shared"})
    page = client_admin_a.get(settings_url).content.decode()
    assert "unmapped:" not in page and 'data-key="guide_mappings"' in page


def test_the_mapping_table_shows_types_in_the_guides_words(client_admin_a, connected_portal_a):
    page = client_admin_a.get(reverse("integrations:salesforce_settings", args=[connected_portal_a.slug])).content.decode()
    assert "<td><code>Sent_Date__c</code></td>\n        <td>DateTime</td>" in page
    assert "<td><code>Views__c</code></td>\n        <td>Number</td>" in page
    assert ">double<" not in page and ">string<" not in page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_optional_boxes_show_only_when_chosen(login, live_server, sf_settings, admin_a, portal_a, connected_portal_a):
    page = login(admin_a)
    page.goto(f"{live_server.url}/{portal_a.slug}/integrations/salesforce/connect/")
    box = page.get_by_test_id("mydomain-box")
    expect(box).to_be_hidden()
    page.locator("input[value=mydomain]").check()
    expect(box).to_be_visible()
    page.locator("input[value=sandbox]").check()
    expect(box).to_be_hidden()

    page.goto(f"{live_server.url}/{portal_a.slug}/integrations/salesforce/mappings/add/")
    constant = page.get_by_label("Constant value")
    expect(constant).to_be_hidden()
    page.get_by_test_id("source-select").select_option("constant")
    expect(constant).to_be_visible()
    page.get_by_test_id("source-select").select_option("campaign.name")
    expect(constant).to_be_hidden()
