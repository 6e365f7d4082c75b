"""Matching order (the guide's "How Contact Matching Works"), one case each, over HTTPS to sfsim."""

import time

import pytest

from tests.sync.conftest import record_of, run_sync

pytestmark = pytest.mark.django_db


def tv_records(sim):
    return sim.records("ThankView__c")


def test_donor_id_contact_wins_over_email(sync_conn, sim, make_send, portal_a):
    by_id, _by_email = sim.seed(
        "Contact", [{"LastName": "ById", "Email": "other@x.org"}, {"LastName": "ByEmail", "Email": "jane@x.org"}]
    )
    send = make_send(email="jane@x.org", donor_id=by_id[:15])  # a 15-char id is converted to 18
    run = run_sync(portal_a)
    assert (run.created, run.unmatched) == (1, 0)
    [rec] = tv_records(sim)
    assert rec["Contact__c"] == by_id and rec["Lead__c"] is None
    assert record_of(send).match_method == "donor_id_contact"


def test_donor_id_lead(sync_conn, sim, make_send, portal_a):
    [lead_id] = sim.seed("Lead", [{"LastName": "Lee", "Company": "Acme", "Email": "lee@x.org"}])
    send = make_send(email="nobody@x.org", donor_id=lead_id)
    run_sync(portal_a)
    [rec] = tv_records(sim)
    assert rec["Lead__c"] == lead_id and rec["Contact__c"] is None
    assert record_of(send).match_method == "donor_id_lead"


def test_contact_by_email_case_insensitive(sync_conn, sim, make_send, portal_a):
    [cid] = sim.seed("Contact", [{"LastName": "Doe", "Email": "Jane.Doe@X.org"}])
    send = make_send(email="jane.doe@x.ORG")
    run_sync(portal_a)
    [rec] = tv_records(sim)
    assert rec["Contact__c"] == cid
    assert record_of(send).match_method == "email_contact"


def test_lead_by_email_when_no_contact(sync_conn, sim, make_send, portal_a):
    [lead_id] = sim.seed("Lead", [{"LastName": "Lee", "Company": "Acme", "Email": "lee@x.org"}])
    send = make_send(email="lee@x.org")
    run_sync(portal_a)
    [rec] = tv_records(sim)
    assert rec["Lead__c"] == lead_id and rec["Contact__c"] is None
    assert record_of(send).match_method == "email_lead"


def test_converted_lead_by_email_links_its_contact(sync_conn, sim, make_send, portal_a):
    [cid] = sim.seed("Contact", [{"LastName": "Conv", "Email": "someone-else@x.org"}])
    sim.seed("Lead", [{"LastName": "Lee", "Company": "Acme", "Email": "conv@x.org", "IsConverted": True, "ConvertedContactId": cid}])
    send = make_send(email="conv@x.org")
    run_sync(portal_a)
    [rec] = tv_records(sim)
    assert rec["Contact__c"] == cid
    assert record_of(send).match_method == "email_converted_lead"


def test_lead_converted_later_is_relinked_on_next_update(sync_conn, sim, make_send, portal_a):
    from datetime import timedelta

    from django.utils import timezone

    from tests.sync.conftest import add_event

    [lead_id] = sim.seed("Lead", [{"LastName": "Lee", "Company": "Acme", "Email": "lee@x.org"}])
    send = make_send(email="lee@x.org")
    run_sync(portal_a)
    [cid] = sim.seed("Contact", [{"LastName": "Lee", "Email": "lee-contact@x.org"}])
    sim.update("Lead", lead_id, {"IsConverted": True, "ConvertedContactId": cid})
    add_event(send, "opened", received_at=timezone.now())
    run = run_sync(portal_a, now=timezone.now() + timedelta(hours=2))
    assert run.updated == 1 and run.created == 0
    [rec] = tv_records(sim)
    assert rec["Contact__c"] == cid and rec["Lead__c"] == lead_id  # the Lead link is kept
    assert rec["Opened__c"] is True
    assert record_of(send).contact_id == cid


def test_no_match_is_not_written_and_listed(sync_conn, sim, make_send, portal_a, client_admin_a):
    from django.urls import reverse

    send = make_send(email="ghost@x.org")
    run = run_sync(portal_a)
    assert (run.unmatched, run.created) == (1, 0)
    assert tv_records(sim) == []
    rec = record_of(send)
    assert rec.status == "unmatched" and rec.error_code == "NO_MATCH"
    html = client_admin_a.get(reverse("integrations:sync_health", args=[portal_a.slug])).content.decode()
    assert "ghost@x.org" in html and "No Salesforce Contact or Lead has this email" in html
    assert reverse("contacts:edit", args=[portal_a.slug, send.contact_id]) in html
    # The contact appears in Salesforce later: the next run picks the send up.
    [cid] = sim.seed("Contact", [{"LastName": "Ghost", "Email": "ghost@x.org"}])
    run = run_sync(portal_a)
    assert run.created == 1
    assert tv_records(sim)[0]["Contact__c"] == cid


def test_invalid_donor_id_falls_back_to_email_and_is_counted(sync_conn, sim, make_send, portal_a):
    [cid] = sim.seed("Contact", [{"LastName": "Doe", "Email": "num@x.org"}])
    send = make_send(email="num@x.org", donor_id="1004422")
    run = run_sync(portal_a)
    assert run.invalid_donor_ids == 1 and run.created == 1
    assert tv_records(sim)[0]["Contact__c"] == cid
    rec = record_of(send)
    assert rec.donor_id_invalid and rec.match_method == "email_contact"


def test_invalid_donor_id_without_email_match_is_listed_with_its_reason(sync_conn, sim, make_send, portal_a, client_admin_a):
    from django.urls import reverse

    send = make_send(email="acct@x.org", donor_id="001D000000IRFmaIAH")  # an Account id
    run_sync(portal_a)
    assert record_of(send).error_code == "INVALID_DONOR_ID"
    html = client_admin_a.get(
        reverse("integrations:sync_health", args=[portal_a.slug]) + "?reason=invalid_donor_id"
    ).content.decode()
    assert "acct@x.org" in html and "Invalid Donor ID" in html


def test_deleted_contact_no_longer_matches(sync_conn, sim, make_send, portal_a):
    [cid] = sim.seed("Contact", [{"LastName": "Gone", "Email": "gone@x.org"}])
    sim.delete("Contact", cid)
    send = make_send(email="gone@x.org", donor_id=cid)
    run = run_sync(portal_a)
    assert run.unmatched == 1 and tv_records(sim) == []
    assert record_of(send).status == "unmatched"


def test_several_contacts_with_one_email_newest_wins_with_a_note(sync_conn, sim, make_send, portal_a):
    old, _new = sim.seed("Contact", [{"LastName": "Old", "Email": "twin@x.org"}, {"LastName": "New", "Email": "twin@x.org"}])
    time.sleep(0.01)  # LastModifiedDate has millisecond resolution
    sim.update("Contact", old, {"LastName": "Old but edited last"})  # now the most recently modified
    send = make_send(email="twin@x.org")
    run_sync(portal_a)
    assert tv_records(sim)[0]["Contact__c"] == old
    assert "2 Contact records share this email" in record_of(send).match_note


def test_matching_is_batched(sync_conn, sim, make_send, portal_a):
    """200 sends of every kind: a handful of queries, never one per recipient."""
    contacts = sim.seed("Contact", [{"LastName": f"C{i}", "Email": f"c{i}@x.org"} for i in range(120)])
    sim.seed("Lead", [{"LastName": f"L{i}", "Company": "Acme", "Email": f"l{i}@x.org"} for i in range(40)])
    for i in range(60):
        make_send(email=f"whatever{i}@x.org", donor_id=contacts[i])
    for i in range(60, 120):
        make_send(email=f"c{i}@x.org")
    for i in range(40):
        make_send(email=f"l{i}@x.org")
    for i in range(20):
        make_send(email=f"nobody{i}@x.org")
    sim.reset_stats()
    run = run_sync(portal_a)
    assert (run.created, run.unmatched) == (160, 20)
    by_kind = sim.stats()["by_kind"]
    # Each IN list fits one GET: round one (Donor IDs, emails without one) two GETs at the
    # same time, round two (Lead by email for the rest) one.
    assert by_kind.get("query", 0) == 3 and "composite" not in by_kind, by_kind
    assert run.api_calls == sim.stats()["api_calls"]  # the parallel query is counted too


def test_custom_contact_object(sync_conn, sim, make_send, portal_a):
    from integrations.models import SalesforceConnection

    sim.create_object("Constituent__c", [{"name": "Email__c", "type": "email"}])
    sim.add_field("ThankView__c", "Constituent__c", "reference", reference_to=["Constituent__c"])
    [cid] = sim.seed("Constituent__c", [{"Email__c": "pat@x.org"}])
    SalesforceConnection.objects.filter(pk=sync_conn.pk).update(
        contact_lookup_field="Constituent__c", contact_object="Constituent__c", contact_email_field="Email__c"
    )
    send = make_send(email="pat@x.org")
    run = run_sync(portal_a)
    assert run.created == 1, (run.outcome, run.error_message)
    [rec] = tv_records(sim)
    assert rec["Constituent__c"] == cid and rec["Contact__c"] is None
    assert record_of(send).lookup_field == "Constituent__c"
