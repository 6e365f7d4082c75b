"""Field mappings: defaults, retarget/remove/add checked against a fresh describe, values."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from engagement.models import Campaign, Send
from engagement.state import SendState
from integrations.models import FieldMapping
from integrations.salesforce.mapping import DEFAULT_MAPPINGS, build_values, mappings_for
from integrations.salesforce.schema import GUIDE_FIELDS
from tests.contacts.factories import make_contact

pytestmark = pytest.mark.django_db


def add_url(portal):
    return reverse("integrations:mapping_add", args=[portal.slug])


def edit_url(portal, m):
    return reverse("integrations:mapping_edit", args=[portal.slug, m.pk])


def test_defaults_are_materialised_once(portal_a):
    first = mappings_for(portal_a)
    assert {m.target_field: m.source for m in first} == DEFAULT_MAPPINGS
    FieldMapping.objects.filter(portal=portal_a, target_field="Shared__c").update(enabled=False)
    again = mappings_for(portal_a)
    assert "Shared__c" not in {m.target_field for m in again}  # a removed default stays removed
    assert FieldMapping.objects.filter(portal=portal_a).count() == len(DEFAULT_MAPPINGS)


def test_retarget_a_renamed_field(client_admin_a, connected_portal_a, sim):
    sim.remove_field("ThankView__c", "Bounced__c")
    sim.add_field("ThankView__c", "Hard_Bounce__c", "boolean")
    m = FieldMapping.objects.get(portal=connected_portal_a, target_field="Bounced__c")
    resp = client_admin_a.post(edit_url(connected_portal_a, m), {"target_field": "hard_bounce__c", "source": "state.bounced"})
    assert resp.status_code == 302
    m.refresh_from_db()
    assert m.target_field == "Hard_Bounce__c"  # canonical case from describe
    assert connected_portal_a.salesforce_connection.error_kind == ""


@pytest.mark.parametrize(
    "data,message",
    [
        ({"target_field": "Nope__c", "source": "campaign.name"}, "ThankView__c has no field Nope__c"),
        ({"target_field": "Opened__c", "source": "campaign.name"}, "Opened__c already has a mapping"),
        ({"target_field": "Contact__c", "source": "contact.donor_id"}, "ThankView fills Contact__c itself"),
        # A system field every org has read-only (Name would not do: a Text Name is writable).
        ({"target_field": "CreatedDate", "source": "send.sent_at"}, "cannot be written"),
        ({"target_field": "bad name!", "source": "campaign.name"}, "Enter the field"),
        ({"target_field": "Extra__c", "source": "constant", "constant_value": ""}, "Enter the constant"),
    ],
)
def test_add_refuses_what_would_fail(client_admin_a, connected_portal_a, sim, data, message):
    sim.add_field("ThankView__c", "Extra__c", "double")
    before = FieldMapping.objects.filter(portal=connected_portal_a).count()
    resp = client_admin_a.post(add_url(connected_portal_a), data)
    assert resp.status_code == 400
    body = resp.content.decode()
    assert message in body and 'aria-invalid="true"' in body
    assert FieldMapping.objects.filter(portal=connected_portal_a).count() == before


@pytest.mark.parametrize(
    "ftype,source,constant,ok",
    [
        ("double", "state.views", "", True),
        ("double", "campaign.name", "", False),
        ("boolean", "constant", "yes", True),
        ("boolean", "constant", "maybe", False),
        ("datetime", "send.sent_at", "", True),
        ("datetime", "state.opened", "", False),
        ("string", "send.sent_at", "", True),
        ("url", "campaign.name", "", False),
        ("double", "constant", "12.5", True),
    ],
)
def test_type_compatibility_is_checked_against_describe(client_admin_a, connected_portal_a, sim, ftype, source, constant, ok):
    sim.add_field("ThankView__c", "Extra__c", ftype)
    resp = client_admin_a.post(add_url(connected_portal_a), {"target_field": "Extra__c", "source": source, "constant_value": constant})
    assert (resp.status_code == 302) is ok, resp.content.decode()[:2000]
    assert FieldMapping.objects.filter(portal=connected_portal_a, target_field="Extra__c").exists() is ok


def test_add_mapping_for_required_field_from_checklist_link(client_admin_a, connected_portal_a, sim):
    sim.add_field("ThankView__c", "Donor_ID__c", "string", required=True)
    client_admin_a.post(reverse("integrations:salesforce_check", args=[connected_portal_a.slug]))
    page = client_admin_a.get(reverse("integrations:salesforce_settings", args=[connected_portal_a.slug])).content.decode()
    link = add_url(connected_portal_a) + "?field=Donor_ID__c"
    assert link in page
    form = client_admin_a.get(link).content.decode()
    assert 'value="Donor_ID__c"' in form
    resp = client_admin_a.post(add_url(connected_portal_a), {"target_field": "Donor_ID__c", "source": "constant", "constant_value": "TV"})
    assert resp.status_code == 302
    conn = connected_portal_a.salesforce_connection
    conn.refresh_from_db()
    assert conn.error_kind == "" and not conn.schema_cache.get("required_unmapped")


def test_removed_mapping_can_be_added_again(client_admin_a, connected_portal_a):
    m = FieldMapping.objects.get(portal=connected_portal_a, target_field="Shared__c")
    client_admin_a.post(reverse("integrations:mapping_remove", args=[connected_portal_a.slug, m.pk]))
    assert not FieldMapping.objects.get(pk=m.pk).enabled
    resp = client_admin_a.post(add_url(connected_portal_a), {"target_field": "Shared__c", "source": "state.shared"})
    assert resp.status_code == 302
    assert FieldMapping.objects.filter(portal=connected_portal_a, target_field="Shared__c", enabled=True).count() == 1


def test_staff_cannot_change_mappings(client_staff_a, connected_portal_a):
    m = FieldMapping.objects.filter(portal=connected_portal_a).first()
    assert client_staff_a.post(add_url(connected_portal_a), {"target_field": "X__c", "source": "campaign.name"}).status_code == 403
    assert client_staff_a.post(reverse("integrations:mapping_remove", args=[connected_portal_a.slug, m.pk])).status_code == 403
    m.refresh_from_db()
    assert m.enabled


def test_build_values_gives_salesforce_json_types(portal_a, settings):
    settings.SITE_URL = "https://portal.example.org"
    contact = make_contact(portal_a, email="jane@x.org", donor_id="003RO0000035WQgYAM")
    campaign = Campaign.objects.create(portal=portal_a, name="Spring Gala", video_url="https://v.example.org/a.mp4")
    sent = datetime(2025, 3, 1, 9, 30, 5, 123000, tzinfo=UTC)
    send = Send.objects.create(campaign=campaign, contact=contact, sent_at=sent)
    state = SendState(opened=True, started_watching=True, views=3, text_reply="x" * 300, video_reply="https://v/r.mp4")
    mappings = mappings_for(portal_a) + [
        FieldMapping(portal=portal_a, target_field="Donor_ID__c", source="contact.donor_id"),
        FieldMapping(portal=portal_a, target_field="Is_Test__c", source="constant", constant_value="true"),
    ]
    values = build_values(mappings, send=send, campaign=campaign, contact=contact, state=state,
                          field_types={"Is_Test__c": "boolean", "Views__c": "double"})
    assert values["Event_Name__c"] == "Spring Gala"
    assert values["Sent_Date__c"] == "2025-03-01T09:30:05.123Z"
    assert values["Opened__c"] is True and values["Clicked__c"] is False
    assert values["Views__c"] == 3
    assert values["Text_Reply__c"] == "x" * 255
    assert values["Url__c"] == send.landing_url and values["Url__c"].startswith("https://portal.example.org/")
    assert send.token in values["Url__c"]
    assert values["Video_Url__c"] == "https://v.example.org/a.mp4"
    assert values["Donor_ID__c"] == "003RO0000035WQgYAM"
    assert values["Is_Test__c"] is True
    assert set(values) >= {f.name for f in GUIDE_FIELDS if f.name not in ("Contact__c", "Lead__c")}
