"""Converted Leads, on every path: Salesforce refuses a lookup to a converted Lead ("cannot
reference converted lead"; sfsim does too, by default), so no write ever holds one in Lead__c as
the only link: its Contact is linked, or the send is reported. Over HTTPS to sfsim."""

import html
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import SalesforceConnection
from integrations.salesforce.records import CONVERTED_LEAD_MESSAGE
from integrations.salesforce.selectors import send_sync_status
from tests.sync.conftest import add_event, record_of, run_sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def custom_object(sync_conn, sim):
    sim.create_object("Constituent__c", [{"name": "Email__c", "type": "email"}])
    sim.add_field("ThankView__c", "Constituent__c", "reference", reference_to=["Constituent__c"])
    SalesforceConnection.objects.filter(pk=sync_conn.pk).update(
        contact_lookup_field="Constituent__c", contact_object="Constituent__c", contact_email_field="Email__c"
    )


def health_page(client, portal):
    return html.unescape(client.get(reverse("integrations:sync_health", args=[portal.slug])).content.decode())


def test_custom_object_path_reports_a_converted_lead_and_writes_the_others(
    custom_object, sim, make_send, portal_a, client_admin_a
):
    [cid] = sim.seed("Contact", [{"LastName": "Conv"}])
    [open_lead, _] = sim.seed("Lead", [
        {"LastName": "Open", "Company": "A", "Email": "open@x.org"},
        {"LastName": "Conv", "Company": "A", "Email": "conv@x.org", "IsConverted": True, "ConvertedContactId": cid},
    ])
    [const] = sim.seed("Constituent__c", [{"Email__c": "pat@x.org"}])
    pat, opened, conv = (make_send(email=e, events=["opened"]) for e in ("pat@x.org", "open@x.org", "conv@x.org"))
    run = run_sync(portal_a)
    assert (run.outcome, run.created, run.unmatched, run.failed) == ("ok", 2, 1, 0)
    written = sorted((r["Constituent__c"] or "", r["Lead__c"] or "") for r in sim.records("ThankView__c"))
    assert written == sorted([(const, ""), ("", open_lead)])
    row = record_of(conv)
    assert (row.status, row.error_code, row.record_id, row.lead_id) == ("unmatched", "CONVERTED_LEAD", "", "")
    assert send_sync_status(conv)["label"] == CONVERTED_LEAD_MESSAGE
    assert CONVERTED_LEAD_MESSAGE in health_page(client_admin_a, portal_a)
    assert record_of(pat).record_id and record_of(opened).record_id


def test_custom_object_record_of_a_lead_converted_later_updates_without_the_lead(
    custom_object, sim, make_send, portal_a
):
    [lead_id] = sim.seed("Lead", [{"LastName": "Lee", "Company": "A", "Email": "lee@x.org"}])
    send = make_send(email="lee@x.org", events=["opened"])
    run_sync(portal_a)
    [rec] = sim.records("ThankView__c")
    [cid] = sim.seed("Contact", [{"LastName": "Lee"}])
    sim.update("Lead", lead_id, {"IsConverted": True, "ConvertedContactId": cid})
    add_event(send, "clicked", received_at=timezone.now())
    run = run_sync(portal_a, now=timezone.now() + timedelta(hours=2))
    assert (run.updated, run.created, run.failed) == (1, 0, 0)
    [after] = sim.records("ThankView__c")
    assert (after["Id"], after["Lead__c"], after["Clicked__c"]) == (rec["Id"], lead_id, True)


def test_converted_lead_donor_id_links_its_contact(sync_conn, sim, make_send, portal_a):
    [cid] = sim.seed("Contact", [{"LastName": "Conv"}])
    [lead_id] = sim.seed("Lead", [{"LastName": "Conv", "Company": "A", "IsConverted": True, "ConvertedContactId": cid}])
    send = make_send(email="nobody@x.org", donor_id=lead_id, events=["opened"])
    run = run_sync(portal_a)
    assert (run.created, run.failed) == (1, 0)
    [rec] = sim.records("ThankView__c")
    assert (rec["Contact__c"], rec["Lead__c"]) == (cid, None)
    assert record_of(send).contact_id == cid


def test_converted_lead_without_a_contact_is_reported_not_written(sync_conn, sim, make_send, portal_a):
    sim.seed("Lead", [{"LastName": "Conv", "Company": "A", "Email": "conv@x.org", "IsConverted": True}])
    send = make_send(email="conv@x.org", events=["opened"])
    sim.reset_stats()
    run = run_sync(portal_a)
    assert (run.created, run.unmatched, run.failed) == (0, 1, 0)
    assert sim.records("ThankView__c") == []
    assert "collections_create" not in sim.stats()["by_kind"]
    assert record_of(send).error_code == "CONVERTED_LEAD"
