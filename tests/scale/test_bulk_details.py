"""Bulk API 2.0 details: uploads sized in bytes (what Salesforce counts), and a blank value
cleared with #N/A so a Bulk update writes the record a Collections update writes. Real sfsim
over HTTPS, PostgreSQL."""

import pytest

from engagement.models import Campaign
from integrations.models import BulkJob, FieldMapping
from integrations.salesforce import support
from integrations.salesforce.mapping import mappings_for
from integrations.salesforce.writers import bulk
from tests.sync.conftest import add_event, record_of, run_sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def fast_bulk(settings):
    settings.SALESFORCE_BULK_POLL_INITIAL_SECONDS = 0.05
    return settings


def test_jobs_are_cut_by_bytes_so_no_upload_passes_the_limit(sync_conn, sim, make_send, portal_a, fast_bulk, monkeypatch):
    fast_bulk.SALESFORCE_BULK_THRESHOLD = 1
    monkeypatch.setattr(bulk, "PREPARE_BATCH", 1)  # a job can be cut after any row
    # The org refuses an upload over 7,500 bytes; ThankView cuts its jobs at 6,500 counted
    # bytes, so even its last row (under 1,000 bytes) keeps it under the limit. Each row
    # carries a reply of 200 "é": 400 bytes but 200 characters. Counted in characters, a job
    # would hold about 40% more rows and pass the limit.
    monkeypatch.setattr(bulk, "MAX_JOB_BYTES", 6500)
    sim.config(bulk_max_upload_bytes=7500)
    sim.seed("Contact", [{"LastName": "Doe", "Email": "jane@x.org"}])
    reply = "é" * 200
    sends = [make_send(email="jane@x.org", events=[("text_reply", None, {"text": reply})]) for _ in range(30)]
    sim.reset_stats()
    run = run_sync(portal_a)
    assert (run.outcome, run.created, run.failed) == ("ok", 30, 0), run.error_message
    uploads = [c for c in sim.stats()["log"] if c["method"] == "PUT" and c["path"].endswith("/batches")]
    assert len(uploads) == BulkJob.objects.filter(run=run).count() >= 3
    assert all(c["status"] == 201 for c in uploads)
    records = sim.records("ThankView__c")
    assert len(records) == 30 and {r["Text_Reply__c"] for r in records} == {reply}
    assert sorted(r["Id"] for r in records) == sorted(record_of(s).record_id for s in sends)


def _map_cta(sim, portal):
    sim.add_field("ThankView__c", "CTA_Url__c", "url")
    mappings_for(portal)
    FieldMapping.objects.create(portal=portal, target_field="CTA_Url__c", source=FieldMapping.Source.CAMPAIGN_CTA_URL)


def _cta(campaign, url):
    Campaign.objects.filter(pk=campaign.pk).update(cta_label="Give" if url else "", cta_url=url)
    campaign.refresh_from_db()
    support.campaign_resync(campaign=campaign)


def test_blank_value_clears_the_field_on_bulk_update_as_on_collections(sync_conn, sim, make_send, portal_a, campaign_a, fast_bulk):
    _map_cta(sim, portal_a)
    sim.seed("Contact", [{"LastName": "Doe", "Email": "jane@x.org"}, {"LastName": "Roe", "Email": "rick@x.org"}])
    sends = [make_send(email="jane@x.org"), make_send(email="rick@x.org")]
    _cta(campaign_a, "https://give.example.org/now")
    fast_bulk.SALESFORCE_BULK_THRESHOLD = 10_000
    assert run_sync(portal_a).created == 2  # Collections creates both with the link

    def ctas():
        return {r["Id"]: r["CTA_Url__c"] for r in sim.records("ThankView__c")}

    assert set(ctas().values()) == {"https://give.example.org/now"}

    # The campaign loses its button: a Bulk update clears the field (#N/A, not an empty cell).
    _cta(campaign_a, "")
    add_event(sends[0], "opened")
    fast_bulk.SALESFORCE_BULK_THRESHOLD = 1
    sim.reset_stats()
    run = run_sync(portal_a)
    assert (run.updated, run.created) == (2, 0)
    assert set(BulkJob.objects.filter(run=run).values_list("operation", flat=True)) == {"update"}
    assert not [c for c in sim.stats()["log"] if c["kind"].startswith("collections_")]
    via_bulk = ctas()
    assert set(via_bulk.values()) == {None}

    # The same change through Collections gives the same records.
    _cta(campaign_a, "https://give.example.org/now")
    fast_bulk.SALESFORCE_BULK_THRESHOLD = 10_000
    assert run_sync(portal_a).updated == 2 and set(ctas().values()) == {"https://give.example.org/now"}
    _cta(campaign_a, "")
    sim.reset_stats()
    assert run_sync(portal_a).updated == 2
    assert [c for c in sim.stats()["log"] if c["kind"] == "collections_update"]
    assert ctas() == via_bulk
    assert len(sim.records("ThankView__c")) == 2  # never a second record
