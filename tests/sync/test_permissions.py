"""Permissions in a locked-down org: a user who cannot read Leads still syncs Contacts and the
admin is told; errors about one record stay on that send; a deleted lookup target on a relink
is not taken for our record being gone. Over HTTPS to sfsim, on PostgreSQL."""

import html
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.salesforce.connection import LEAD_ACCESS_MESSAGE
from tests.sync.conftest import add_event, record_of, run_sync

pytestmark = pytest.mark.django_db


def settings_page(client, portal):
    return html.unescape(client.get(reverse("integrations:salesforce_settings", args=[portal.slug])).content.decode())


def later(hours):
    return timezone.now() + timedelta(hours=hours)


def test_no_lead_access_still_syncs_contacts_and_tells_the_admin(
    sync_conn, sim, make_send, portal_a, client_admin_a, mailoutbox, django_capture_on_commit_callbacks
):
    [cid] = sim.seed("Contact", [{"LastName": "Doe", "Email": "jane@x.org"}])
    sim.seed("Lead", [{"LastName": "Lee", "Company": "Acme", "Email": "lee@x.org"}])
    sim.config(unreadable_objects=["Lead"])
    jane = make_send(email="jane@x.org", events=["opened"])
    lee = make_send(email="lee@x.org", events=["opened"])
    sim.reset_stats()
    with django_capture_on_commit_callbacks(execute=True):
        run = run_sync(portal_a)
    assert (run.outcome, run.created, run.unmatched, run.failed) == ("ok", 1, 1, 0)
    [rec] = sim.records("ThankView__c")
    assert rec["Contact__c"] == cid and record_of(jane).record_id == rec["Id"]
    assert record_of(lee).status == "unmatched"
    refused = [e for e in sim.stats()["log"] if e["status"] >= 400]
    assert [(e["kind"], e["status"]) for e in refused] == [("query", 400)]  # one Lead query, then none
    sync_conn.refresh_from_db()
    assert (sync_conn.status, sync_conn.error_kind, sync_conn.error_code) == ("connected", "permissions", "INVALID_TYPE")
    page = settings_page(client_admin_a, portal_a)
    assert "Insufficient Permissions or API Access Disabled" in page and LEAD_ACCESS_MESSAGE in page
    assert "Ensure the “API Enabled” box is checked for your profile." in page
    assert len(mailoutbox) == 1  # the portal's admins, once

    add_event(jane, "clicked", received_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        run = run_sync(portal_a, now=later(2))
    assert (run.outcome, run.updated, run.created) == ("ok", 1, 0)
    assert len(mailoutbox) == 1 and len(sim.records("ThankView__c")) == 1
    sync_conn.refresh_from_db()
    assert sync_conn.error_kind == "permissions"  # still missing: the banner stays, no new email

    sim.config(unreadable_objects=[])  # the admin grants Read on Lead
    run = run_sync(portal_a, now=later(4))
    assert run.outcome == "ok"
    sync_conn.refresh_from_db()
    assert (sync_conn.error_kind, sync_conn.error_code) == ("", "")
    assert "Insufficient Permissions" not in settings_page(client_admin_a, portal_a)


def test_a_hidden_lookup_target_fails_that_send_only(sync_conn, sim, make_send, portal_a):
    [cid, hidden] = sim.seed("Contact", [{"LastName": "Doe", "Email": "jane@x.org"}, {"LastName": "Priv", "Email": "p@x.org"}])
    sim.seed("Lead", [{"LastName": "Lee", "Company": "Acme", "Email": "lee@x.org", "IsConverted": True,
                       "ConvertedContactId": hidden}])
    sim.hide("Contact", hidden)  # private sharing: the user cannot see the Lead's Contact
    jane = make_send(email="jane@x.org", events=["opened"])
    lee = make_send(email="lee@x.org", events=["opened"])
    run = run_sync(portal_a)
    assert (run.outcome, run.created, run.failed) == ("partial", 1, 1)
    [rec] = sim.records("ThankView__c")
    assert rec["Contact__c"] == cid and record_of(jane).record_id == rec["Id"]
    failed = record_of(lee)
    assert (failed.status, failed.error_code, failed.record_id) == (
        "failed", "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", "")
    sync_conn.refresh_from_db()
    assert (sync_conn.status, sync_conn.error_kind) == ("connected", "")


@pytest.mark.parametrize("code, message", [
    ("FIELD_INTEGRITY_EXCEPTION", "Value does not exist or does not match filter criteria."),
    ("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead"),
])
def test_a_record_level_refusal_stays_on_its_send(sync_conn, sim, make_send, portal_a, code, message):
    c1, c2, c3 = sim.seed("Contact", [{"LastName": n, "Email": f"{n}@x.org"} for n in ("a", "b", "c")])
    sends = [make_send(email=f"{n}@x.org", events=["opened"]) for n in ("a", "b", "c")]
    sim.fault("reject_record", field="Contact__c", value=c2, code=code, message=message, fields=[])
    run = run_sync(portal_a)
    assert (run.outcome, run.created, run.failed) == ("partial", 2, 1)
    assert sorted(r["Contact__c"] for r in sim.records("ThankView__c")) == sorted([c1, c3])
    assert (record_of(sends[1]).error_code, record_of(sends[1]).error_message) == (code, message)
    sync_conn.refresh_from_db()
    assert sync_conn.error_kind == ""
    sim.clear_faults()
    run = run_sync(portal_a, now=later(2))  # the refused send is retried, the others not resent
    assert (run.created, run.updated, run.failed) == (1, 0, 0)
    assert len(sim.records("ThankView__c")) == 3


def test_deleted_lookup_target_on_a_relink_never_recreates_the_record(sync_conn, sim, make_send, portal_a):
    sim.config(deleted_lookup_code="ENTITY_IS_DELETED")
    [lead_id] = sim.seed("Lead", [{"LastName": "Lee", "Company": "Acme", "Email": "lee@x.org"}])
    send = make_send(email="lee@x.org", events=["opened"])
    run_sync(portal_a)
    [rec] = sim.records("ThankView__c")
    # The Lead is converted, and its Contact then deleted (or merged away).
    [cid] = sim.seed("Contact", [{"LastName": "Lee", "Email": "lee-contact@x.org"}])
    sim.update("Lead", lead_id, {"IsConverted": True, "ConvertedContactId": cid})
    sim.delete("Contact", cid)
    add_event(send, "clicked", received_at=timezone.now())
    sim.reset_stats()
    run = run_sync(portal_a, now=later(2))
    assert (run.created, run.updated, run.failed) == (0, 0, 1)
    assert [r["Id"] for r in sim.records("ThankView__c")] == [rec["Id"]]
    assert "collections_create" not in sim.stats()["by_kind"]
    row = record_of(send)
    assert (row.record_id, row.error_code) == (rec["Id"], "ENTITY_IS_DELETED")
    sync_conn.refresh_from_db()
    assert sync_conn.error_kind == ""
