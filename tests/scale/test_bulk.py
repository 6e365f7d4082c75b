"""Bulk API 2.0 path: the same sends written by sObject Collections into one
simulator org and by Bulk API 2.0 into another give the same ThankView__c records, field by
field; per-row failures land on the send the same way; no duplicates when a job's outcome is
unknown. Real sfsim servers over HTTPS, no mocks."""

from datetime import timedelta

import pytest
from django.utils import timezone

from engagement.models import Campaign
from integrations.models import BulkJob, SalesforceRecord
from integrations.salesforce import support
from integrations.salesforce.writers import bulk

from .conftest import add_event, run_sync

pytestmark = pytest.mark.django_db

IGNORED = {"Id", "Name", "CreatedDate", "LastModifiedDate", "SystemModstamp", "CreatedById", "LastModifiedById",
           "OwnerId", "IsDeleted", "attributes"}


def _seed_people(sim):
    """The same people in an org: Contacts, an unconverted Lead, a converted Lead."""
    contacts = sim.seed("Contact", [
        {"LastName": "Doe", "Email": "jane@x.org"},
        {"LastName": "Roe", "Email": "rick@x.org"},
        {"LastName": "Poe", "Email": "ed@x.org"},
        {"LastName": "Twin", "Email": "twin@x.org"},
        {"LastName": "Twin2", "Email": "twin@x.org"},
    ])
    sim.seed("Lead", [{"LastName": "Lee", "Company": "Acme", "Email": "lead@x.org"}])
    return contacts


def _data_set(make_send, portal):
    """Sends covering the matching rules, the event types, a value cut to fit and an unmatched one."""
    long_video = Campaign.objects.create(
        portal=portal, name="Too long video URL", video_url="https://videos.example.org/" + "v" * 300 + ".mp4"
    )
    sends = [
        make_send(email="jane@x.org", events=["opened", "started_watching", "started_watching", "finished_watching"]),
        make_send(email="rick@x.org", events=["clicked", "cta_clicked", ("text_reply", None, {"text": "Thank you, ‘all’; \"quoted\",\nnew line"})]),
        make_send(email="ed@x.org", donor_id="1004422", events=["bounced"]),  # invalid Donor ID → email
        make_send(email="twin@x.org", events=["downloaded", "shared"]),  # two Contacts share the email
        make_send(email="lead@x.org", events=["unsubscribed"]),  # Lead by email
        make_send(email="nobody@x.org", events=["opened"]),  # no match: not written
        make_send(email="jane@x.org", campaign=long_video, events=["opened"]),  # cut to 255, noted
    ]
    for i in range(6):  # enough rows that the Bulk path has more than one of each kind
        sends.append(make_send(email="rick@x.org", events=["opened"] * (i % 3)))
    return sends


def _who(sim):
    """Salesforce Contact/Lead id → email, to compare lookups across orgs."""
    out = {}
    for obj in ("Contact", "Lead"):
        for r in sim.records(obj):
            out[r["Id"][:15]] = f"{obj}:{r.get('Email')}:{r.get('LastName')}"
    return out


def _comparable(sim):
    who = _who(sim)
    rows = {}
    for r in sim.records("ThankView__c"):
        row = {k: v for k, v in r.items() if k not in IGNORED}
        for lookup in ("Contact__c", "Lead__c"):
            if row.get(lookup):
                row[lookup] = who[row[lookup][:15]]
        assert row["Url__c"] not in rows, "two records for one send"
        rows[row["Url__c"]] = row
    return rows


def _record_states(sends, org_id):
    out = {}
    for s in sends:
        r = SalesforceRecord.objects.get(send=s, org_id=org_id)
        out[s.pk] = (r.status, r.error_code, r.error_message, r.error_fields, bool(r.record_id), r.match_method,
                     r.value_note)
    return out


@pytest.mark.parametrize("external_id", [False, True], ids=["insert", "upsert_by_Send_Id__c"])
def test_bulk_and_collections_write_the_same_records(
    sync_conn, sim, sim_sandbox, sandbox_settings, client_admin_a, sf_connect, make_send, portal_a, settings, external_id,
    monkeypatch,
):
    for ctl in (sim, sim_sandbox):
        _seed_people(ctl)
        if external_id:
            ctl.add_field("ThankView__c", "Send_Id__c", "string", external_id=True, unique=True, length=64)
    if external_id:  # the checklist notices the External ID
        sf_connect(client_admin_a, portal_a)
    sends = _data_set(make_send, portal_a)

    # Org A (production simulator): sObject Collections.
    settings.SALESFORCE_BULK_THRESHOLD = 10_000
    run_a = run_sync(portal_a)
    org_a = run_a.org_id
    stats_a = sim.stats()["by_kind"]
    assert stats_a.get("bulk", 0) == 0 and any(k.startswith("collections_") for k in stats_a)

    # Org B (second simulator): the same sends through Bulk API 2.0.
    conn = sf_connect(client_admin_a, portal_a, environment="sandbox")
    assert conn.org_id != org_a
    settings.SALESFORCE_BULK_THRESHOLD = 3
    settings.SALESFORCE_BULK_POLL_INITIAL_SECONDS = 0.05
    # Small match windows and prepare batches, so windows are matched ahead (matches_ahead)
    # and prepared in several batches, a window's last batch shorter than the others.
    monkeypatch.setattr(bulk, "MATCH_WINDOW", 7)
    monkeypatch.setattr(bulk, "PREPARE_BATCH", 3)
    sim_sandbox.reset_stats()
    run_b = run_sync(portal_a)
    stats_b = sim_sandbox.stats()["by_kind"]
    assert stats_b.get("bulk", 0) >= 4 and not any(k.startswith("collections_") for k in stats_b), stats_b
    assert BulkJob.objects.filter(run=run_b, settled=True).count() >= 1
    jobs = set(BulkJob.objects.filter(run=run_b).values_list("operation", flat=True))
    assert jobs == {"upsert" if external_id else "insert"}

    for field in ("outcome", "due", "created", "updated", "unmatched", "failed", "invalid_donor_ids"):
        assert getattr(run_a, field) == getattr(run_b, field), field
    assert run_b.created == len(sends) - 1 and run_b.unmatched == 1 and run_b.failed == 0
    a, b = _comparable(sim), _comparable(sim_sandbox)
    assert len(a) == len(sends) - 1
    assert a == b
    # Values cut to fit and matches land on the sends the same way.
    assert _record_states(sends, org_a) == _record_states(sends, conn.org_id)
    cut = SalesforceRecord.objects.get(send=sends[6], org_id=conn.org_id)
    assert cut.status == "synced" and cut.value_note == "Video_Url__c cut to 255 characters"
    assert a[sends[6].landing_url]["Video_Url__c"] == sends[6].campaign.video_url[:255]

    # A re-sync with newer activity: an update job in org B, updates by id in org A.
    later = timezone.now() + timedelta(hours=2)
    for s in sends[:4]:
        add_event(s, "cta_clicked", received_at=timezone.now() - timedelta(minutes=40))
    for campaign in {s.campaign for s in sends}:
        support.campaign_resync(campaign=campaign)
    run_b2 = run_sync(portal_a, now=later)
    assert "update" in set(BulkJob.objects.filter(run=run_b2).values_list("operation", flat=True))
    sf_connect(client_admin_a, portal_a)  # back to org A
    settings.SALESFORCE_BULK_THRESHOLD = 10_000
    for campaign in {s.campaign for s in sends}:
        support.campaign_resync(campaign=campaign)
    run_a2 = run_sync(portal_a, now=later)
    assert run_a2.updated == run_b2.updated == len(sends) - 1  # the unmatched one is not
    a, b = _comparable(sim), _comparable(sim_sandbox)
    assert a == b
    assert all(r["CTA_Clicked__c"] for url, r in a.items() if url in {s.landing_url for s in sends[:2]})


def test_bulk_job_still_processing_when_the_run_gives_up_is_waited_for_and_adopted(
    sync_conn, sim, make_send, portal_a, settings
):
    """The run stops waiting for a job Salesforce is still processing (as if the worker died
    after UploadComplete): the attempt markers are committed and the job is recorded. The
    next run first waits for that job, then adopts its records by natural key instead of
    creating them again."""
    settings.SALESFORCE_BULK_THRESHOLD = 2
    settings.SALESFORCE_BULK_POLL_INITIAL_SECONDS = 0.05
    settings.SALESFORCE_BULK_JOB_TIMEOUT_SECONDS = 0.2
    _seed_people(sim)
    sim.config(bulk_delay_ms=1500)
    sends = [make_send(email=e, events=["opened"]) for e in ("jane@x.org", "rick@x.org", "ed@x.org", "lead@x.org")]
    run1 = run_sync(portal_a)
    assert run1.outcome == "unavailable" and run1.error_code == "BULK_JOB_TIMEOUT", run1.error_message
    job = BulkJob.objects.get(run=run1)
    assert not job.settled and job.job_id and job.operation == "insert"
    pending = SalesforceRecord.objects.filter(send__in=sends, org_id=run1.org_id)
    assert all(r.attempt_marker and not r.record_id for r in pending)
    assert sim.records("ThankView__c") == []  # still processing

    settings.SALESFORCE_BULK_JOB_TIMEOUT_SECONDS = 30
    run2 = run_sync(portal_a)
    assert run2.outcome == "ok", run2.error_message
    assert BulkJob.objects.get(pk=job.pk).settled
    records = sim.records("ThankView__c")
    assert len(records) == len(sends)  # no duplicates
    assert run2.adopted == len(sends) and run2.created == 0
    assert set(pending.values_list("record_id", flat=True)) == {r["Id"] for r in records}
    assert not any(pending.values_list("attempt_marker", flat=True))


def test_bulk_job_whose_create_answer_is_lost_creates_each_record_once(sync_conn, sim, make_send, portal_a, settings):
    settings.SALESFORCE_BULK_THRESHOLD = 2
    settings.SALESFORCE_BULK_POLL_INITIAL_SECONDS = 0.05
    settings.SALESFORCE_RETRY_ATTEMPTS = 1
    _seed_people(sim)
    sends = [make_send(email=e, events=["opened"]) for e in ("jane@x.org", "rick@x.org", "ed@x.org", "lead@x.org")]
    sim.fault("drop_after_commit", count=1, path="/jobs/ingest")
    run1 = run_sync(portal_a)
    assert run1.outcome == "unavailable", (run1.outcome, run1.error_message)
    assert sim.records("ThankView__c") == []
    run2 = run_sync(portal_a)
    assert run2.outcome == "ok" and run2.created == len(sends), run2.error_message
    assert len(sim.records("ThankView__c")) == len(sends)
    assert BulkJob.objects.filter(portal=portal_a, settled=False).count() == 0


def test_parse_bulk_error_cells():
    from integrations.salesforce.errors import bulk_row_error

    assert bulk_row_error("REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --") == (
        "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", ["LastName"]
    )
    assert bulk_row_error("INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--") == (
        "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", []
    )
