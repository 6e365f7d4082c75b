"""The re-sync estimate support confirms counts every API call the run that follows makes:
describe, /limits, the Donor ID and email lookups, the converted-Lead check, and the writes
(sObject Collections) or the Bulk API 2.0 job calls. Compared with the run's own count of
calls against real sfsim, for 10, 450 and 5,000 sends on both write paths, first as a
historical re-sync (every send matched and created) and then again (every record updated).
The estimate may be above the run (round-two lookups that Salesforce's answers made
unneeded, Bulk polls and failed-results calls that were not needed), never below it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts import salesforce_ids
from contacts.models import Contact, donor_id_fields, normalize_email, search_text_for
from engagement.models import EngagementEvent, Send
from integrations.models import SalesforceConnection
from integrations.salesforce import estimate, support

from .conftest import run_sync

pytestmark = pytest.mark.django_db


def _people(sim, n):
    """(email, donor_id) per send: every way a send is matched, and some that match nobody."""
    kinds = [i % 10 for i in range(n)]
    contact_ids = sim.seed("Contact", [{"LastName": f"C{i}", "Email": f"c{i}@x.org"} for i in range(n)])
    lead_ids = sim.seed("Lead", [{"LastName": f"L{i}", "Company": "X", "Email": f"l{i}@x.org"}
                                 for i, k in enumerate(kinds) if k in (1, 4)])
    leads = iter(lead_ids)
    people = []
    for i, k in enumerate(kinds):
        if k == 0:  # Donor ID of an existing Contact
            people.append((f"d{i}@x.org", contact_ids[i]))
        elif k == 1:  # Donor ID of an existing Lead
            people.append((f"d{i}@x.org", next(leads)))
        elif k == 2:  # invalid Donor ID: email
            people.append((f"c{i}@x.org", "12345"))
        elif k == 3:  # a Contact id that does not exist: email in round two
            people.append((f"c{i}@x.org", salesforce_ids.to_18(f"003Zz{i:010d}")))
        elif k == 4:  # a Lead's email
            next(leads)
            people.append((f"l{i}@x.org", ""))
        elif k == 5:  # nobody
            people.append((f"nobody{i}@x.org", ""))
        else:
            people.append((f"c{i}@x.org", ""))
    return people


def _sends(campaign, people):
    sent_at = timezone.now() - timedelta(days=30)
    contacts = Contact.objects.bulk_create([
        Contact(portal_id=campaign.portal_id, email=email, email_normalized=normalize_email(email),
                search_text=search_text_for(first_name="", last_name="", email=email, donor_id=donor),
                **donor_id_fields(donor))
        for email, donor in people
    ])
    sends = Send.objects.bulk_create([Send(campaign=campaign, contact=c, sent_at=sent_at) for c in contacts])
    EngagementEvent.objects.bulk_create([
        EngagementEvent(send=s, type="opened", occurred_at=sent_at, received_at=sent_at + timedelta(hours=1))
        for s in sends
    ])
    return sends


def _estimate_then_run(conn, campaign):
    support.campaign_resync(campaign=campaign)
    conn.refresh_from_db()
    est = estimate.connection_estimate(connection=conn, sends=Send.objects.filter(campaign=campaign))
    run = run_sync(conn.portal)
    return est, run


@pytest.mark.parametrize("n", [10, 450, 5000])
@pytest.mark.parametrize("path", ["collections", "bulk"])
def test_estimate_never_undercounts_the_run(sync_conn, sim, campaign_a, settings, n, path):
    settings.SALESFORCE_BULK_THRESHOLD = 5 if path == "bulk" else 10_000
    settings.SALESFORCE_BULK_POLL_INITIAL_SECONDS = 0.05
    sim.limits(used=0, max=1_000_000)
    SalesforceConnection.objects.filter(pk=sync_conn.pk).update(sync_enabled_at=timezone.now() - timedelta(days=1))
    sync_conn.refresh_from_db()
    _sends(campaign_a, _people(sim, n))

    # A historical campaign: no send has a record yet; every one is matched, then created.
    est, run = _estimate_then_run(sync_conn, campaign_a)
    assert est.path == path and est.sends == n and est.to_match == n
    assert run.due == n and run.unmatched == n // 10 + (1 if n % 10 > 5 else 0)
    assert run.api_calls <= est.calls
    if path == "collections":
        # Every batch has a send nobody matches, so round two of the lookups is asked as
        # counted, and every batch creates: the estimate is exact.
        assert run.api_calls == est.calls

    # Re-synced again: every matched send is updated by id; the unmatched ones are matched again.
    est2, run2 = _estimate_then_run(sync_conn, campaign_a)
    assert est2.to_match == run.unmatched
    assert run2.api_calls <= est2.calls
