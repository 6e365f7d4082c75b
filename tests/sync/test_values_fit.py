"""Values that fit the customer's org, field-level security and a Text Name: what the admin
sees (checklist, sync health, the API), what reached sfsim, and that nothing is lost or sent
twice. Real sfsim over HTTPS, PostgreSQL."""

import pytest
from django.test import Client
from django.urls import reverse

from integrations.models import FieldMapping, SalesforceConnection
from integrations.salesforce import connection
from integrations.salesforce.mapping import mappings_for
from tests.engagement.factories import make_api_key
from tests.sync.conftest import add_event, record_of, run_sync

pytestmark = pytest.mark.django_db
S = FieldMapping.Source


@pytest.fixture
def people(sim):
    return sim.seed("Contact", [
        {"FirstName": "Jane", "LastName": "Doe", "Email": "jane@x.org"},
        {"FirstName": "Rick", "LastName": "Roe", "Email": "rick@x.org"},
    ])


def creates(sim):
    return [c for c in sim.stats()["log"] if c["kind"] in ("collections_create", "collections_upsert")]


def api_send(portal, send):
    raw = make_api_key(portal)[1]
    return Client().get(f"/api/v1/sends/{send.pk}", headers={"Authorization": f"Bearer {raw}"}).json()


def checklist_items(conn):
    conn.refresh_from_db()
    return {i.key: i for i in connection.connection_check(connection=conn).items}


# --- text longer than the field ----------------------------------------------------------


def test_text_longer_than_the_field_is_cut_and_the_send_notes_it(sync_conn, sim, people, make_send, portal_a):
    sim.remove_field("ThankView__c", "Text_Reply__c")
    sim.add_field("ThankView__c", "Text_Reply__c", "string", length=80)
    reply = "Thank you so much! " * 12  # 228 characters
    send = make_send(email="jane@x.org", events=[("text_reply", None, {"text": reply})])
    sim.reset_stats()
    run = run_sync(portal_a)
    assert (run.created, run.failed, run.outcome) == (1, 0, "ok")
    [rec] = sim.records("ThankView__c")
    assert rec["Text_Reply__c"] == reply[:80]
    row = record_of(send)
    assert (row.status, row.record_id, row.value_note) == ("synced", rec["Id"], "Text_Reply__c cut to 80 characters")
    assert api_send(portal_a, send)["salesforce"]["value_note"] == "Text_Reply__c cut to 80 characters"
    assert len(creates(sim)) == 1
    # The next run updates the same record: nothing twice.
    add_event(send, "opened")
    support_resync(send)
    assert run_sync(portal_a).updated == 1 and len(sim.records("ThankView__c")) == 1


def support_resync(send):
    from integrations.salesforce import support

    support.campaign_resync(campaign=send.campaign)


# --- blank values for required fields ------------------------------------------------------


def test_blank_required_value_holds_that_send_back_and_writes_the_others(
    sync_conn, sim, people, make_send, portal_a, campaign_a, client_admin_a,
):
    from engagement.models import Campaign

    sim.add_field("ThankView__c", "CTA_Url__c", "url", required=True)
    mappings_for(portal_a)
    FieldMapping.objects.create(portal=portal_a, target_field="CTA_Url__c", source=S.CAMPAIGN_CTA_URL)
    with_cta = Campaign.objects.create(portal=portal_a, name="Give again", video_url="https://v.example.org/a.mp4",
                                       cta_label="Give", cta_url="https://give.example.org/now")
    # campaign_a has no CTA: its sends have nothing for the required field.
    blank = make_send(email="jane@x.org", campaign=campaign_a)
    ok = make_send(email="rick@x.org", campaign=with_cta)
    # The checklist warns that the source can be blank (and does not block).
    item = checklist_items(sync_conn)["blank:CTA_Url__c"]
    assert item.status == "warn" and "Salesforce requires CTA_Url__c, but its source (Campaign CTA URL)" in item.detail
    sim.reset_stats()
    run = run_sync(portal_a)
    assert (run.created, run.failed, run.outcome) == (1, 1, "partial")
    [rec] = sim.records("ThankView__c")  # only the send that has a value reached Salesforce
    assert rec["CTA_Url__c"] == "https://give.example.org/now" and rec["Id"] == record_of(ok).record_id
    assert len(creates(sim)) == 1
    held = record_of(blank)
    assert (held.status, held.error_code, held.error_fields, held.record_id) == (
        "failed", "BLANK_REQUIRED_VALUE", ["CTA_Url__c"], "")
    assert "Salesforce requires CTA_Url__c (from Campaign CTA URL), and this send's value is blank" in held.error_message
    body = api_send(portal_a, blank)["salesforce"]
    assert body["status"] == "failed" and body["error"]["fields"] == ["CTA_Url__c"]
    assert body["label"].startswith("Not sent: Salesforce requires CTA_Url__c")
    html = client_admin_a.get(reverse("integrations:sync_health", args=[portal_a.slug])).content.decode()
    assert "Not sent: Salesforce requires CTA_Url__c (from Campaign CTA URL)" in html
    sync_conn.refresh_from_db()
    assert sync_conn.error_kind == ""  # one send's blank value raises no banner
    # Once the campaign has a link, the held send is written, once.
    Campaign.objects.filter(pk=campaign_a.pk).update(cta_label="Give", cta_url="https://give.example.org/a")
    again = run_sync(portal_a)
    assert (again.created, again.failed) == (1, 0)
    assert sorted(r["CTA_Url__c"] for r in sim.records("ThankView__c")) == [
        "https://give.example.org/a", "https://give.example.org/now"]


def test_empty_string_never_reaches_a_required_field(sync_conn, sim, people, make_send, portal_a):
    """A constant mapped as "" would be refused by Salesforce (stored as null); it is held."""
    sim.require_field("ThankView__c", "Event_Name__c")
    from engagement.models import Campaign

    Campaign.objects.filter(portal=portal_a).update(name="")
    send = make_send(email="jane@x.org")
    Campaign.objects.filter(pk=send.campaign_id).update(name="")
    sim.reset_stats()
    run = run_sync(portal_a)
    assert (run.created, run.failed) == (0, 1)
    assert creates(sim) == [] and sim.records("ThankView__c") == []
    assert record_of(send).error_fields == ["Event_Name__c"]


# --- field-level security -----------------------------------------------------------------


def test_read_only_optional_fields_are_left_out_with_a_warning(sync_conn, sim, people, make_send, portal_a):
    sim.config(read_only_fields=["ThankView__c.Views__c", "ThankView__c.Portal_Name__c"])
    send = make_send(email="jane@x.org", events=["started_watching", "started_watching"])
    items = checklist_items(sync_conn)
    assert items["field:Views__c"].status == "warn"
    assert "Views__c is read-only for the connected user, so ThankView leaves it out" in items["field:Views__c"].detail
    assert items["access:Portal_Name__c"].status == "warn" and "Portal_Name__c is read-only" in items["access:Portal_Name__c"].detail
    run = run_sync(portal_a)
    assert (run.created, run.failed, run.outcome) == (1, 0, "ok")
    [rec] = sim.records("ThankView__c")
    assert rec["Started_Watching__c"] is True and rec["Views__c"] is None and rec["Portal_Name__c"] is None
    assert rec["Portal_Id__c"] == str(portal_a.pk)
    assert record_of(send).record_id == rec["Id"]
    sync_conn.refresh_from_db()
    assert sync_conn.error_kind == ""


def test_read_only_required_field_stops_the_run_before_writing(sync_conn, sim, people, make_send, portal_a, client_admin_a):
    sim.require_field("ThankView__c", "Event_Name__c")
    sim.field_access("ThankView__c", "Event_Name__c", createable=False, updateable=False)
    send = make_send(email="jane@x.org")
    sim.reset_stats()
    run = run_sync(portal_a)
    assert run.outcome == "mapping_error" and "Event_Name__c is required, but it is read-only" in run.error_message
    assert [c["kind"] for c in sim.stats()["log"]] == ["describe"]  # nothing written
    assert not send.salesforce_records.exclude(record_id="").exists()
    sync_conn.refresh_from_db()
    assert sync_conn.error_kind == "mapping" and "Event_Name__c" in sync_conn.error_message
    html = client_admin_a.get(reverse("integrations:sync_health", args=[portal_a.slug])).content.decode()
    assert "Mapping Error: Missing or Deleted Field" in html
    # Access granted: the send goes, once.
    sim.field_access("ThankView__c", "Event_Name__c", createable=True, updateable=True)
    assert run_sync(portal_a).created == 1 and len(sim.records("ThankView__c")) == 1


def test_checklist_reads_access_of_the_fields_the_sync_owns(sync_conn, sim):
    sim.add_field("ThankView__c", "Send_Id__c", "string", external_id=True, unique=True, length=64)
    sim.field_access("ThankView__c", "Send_Id__c", createable=False, updateable=False)
    sim.field_access("ThankView__c", "Portal_Id__c", createable=True, updateable=False)
    items = checklist_items(sync_conn)
    assert items["access:Send_Id__c"].status == "warn" and "Send_Id__c is read-only" in items["access:Send_Id__c"].detail
    assert items["access:Portal_Id__c"].status == "warn"
    conn = SalesforceConnection.objects.get(pk=sync_conn.pk)
    assert conn.schema_cache["send_id_external"] is False and conn.schema_cache["portal_id_present"] is False
    sim.field_access("ThankView__c", "Contact__c", createable=False, updateable=False)
    items = checklist_items(sync_conn)
    assert items["access:Contact__c"].status == "fail"


# --- Text Name ----------------------------------------------------------------------------


def test_text_name_does_not_block_and_gets_campaign_and_recipient(sync_conn, sim, people, make_send, portal_a, campaign_a):
    sim.config(text_name_objects=["ThankView__c"])
    items = checklist_items(sync_conn)
    assert "required:Name" not in items and items["name"].status == "ok"
    jane = make_send(email="jane@x.org")
    rick = make_send(email="rick@x.org")
    from contacts.models import Contact

    Contact.objects.filter(pk=jane.contact_id).update(first_name="Jane", last_name="Doe")
    Contact.objects.filter(pk=rick.contact_id).update(first_name="", last_name="")
    run = run_sync(portal_a)
    assert (run.created, run.outcome) == (2, "ok")
    names = {r["Id"]: r["Name"] for r in sim.records("ThankView__c")}
    assert names[record_of(jane).record_id] == "Spring Thank You - Jane Doe"
    assert names[record_of(rick).record_id] == "Spring Thank You - rick@x.org"
    # Cut to the Name's length (80).
    campaign_a.name = "A very long campaign name " * 5
    campaign_a.save()
    long = make_send(email="jane@x.org", campaign=campaign_a)
    run_sync(portal_a)
    assert len(sim.get("ThankView__c", record_of(long).record_id)["Name"]) == 80
