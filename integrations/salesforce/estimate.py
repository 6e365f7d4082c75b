"""What a re-sync will cost in API calls, shown to support before it confirms.

The estimate walks the re-sync's sends in the order the run takes them (``due.py``: by send
id) and counts, batch by batch, every call the run makes (``run.py``, ``batch.py``, the
writers):

- the run's own: one describe of ``ThankView__c`` (its pre-flight; a run takes its budget
  from the answers' ``Sforce-Limit-Info`` headers, never from ``/limits``, see ``budget.py``);
- matching, for sends with no record in the org yet (``matching.lookup_calls``): the Donor
  ID lookups (Contact ids, Lead ids), Contact by email, and Lead by email. Round two is
  counted as if round one found nobody: only Salesforce's answers can make it smaller;
- the converted-Lead check of records linked to a Lead, and the natural-key adoption query
  of sends whose earlier create had an unknown outcome (``dedupe.adopt``);
- writes: sObject Collections, one update and one create call per 200 (a send that matches
  nobody is not written, so this is the most it can be); or Bulk API 2.0: per job create,
  upload, UploadComplete, the polls, successful and failed results, plus one status call per
  job an earlier run left unsettled.

So the estimate never counts fewer calls than the run makes, except for the Bulk polls: a
job is polled until Salesforce finishes it, and how long that takes is Salesforce's. The
estimate allows ``BULK_POLLS_PER_JOB`` polls plus one per 10,000 rows (Salesforce processes
a Bulk API 2.0 ingest job in internal batches of 10,000 records: "Understanding Bulk API 2.0
Ingest"); a busy org may need more. Records deleted in Salesforce are created again (two
more calls per 200), which nothing here can know ahead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.conf import settings

from engagement.models import Send

from ..models import BulkJob, SalesforceRecord
from .budget import (
    daily_requests,
    last_known_usage,
    limits_or_none,
    limits_record,
    portal_calls_last_24h,
    usage_figures,
)
from .client import COLLECTION_LIMIT, SalesforceClient, chunks
from .dedupe import external_id_for
from .due import BATCH_SIZE
from .errors import SalesforceError
from .matching import MatchConfig, MatchInput, lookup_calls
from .writers import bulk as bulk_writer

RUN_FIXED_CALLS = 1  # the pre-flight describe
# A Bulk job: create, upload, UploadComplete, then successful and failed results.
BULK_JOB_CALLS = 5
BULK_POLLS_PER_JOB = 3
BULK_ROWS_PER_INTERNAL_BATCH = 10_000
# Rows per job: a job's CSV is cut at 100 MB (writers/bulk.py); at ~500 bytes per
# ThankView__c row that is ~200,000 rows.
BULK_ROWS_PER_JOB = 150_000


@dataclass(frozen=True)
class SendPlan:
    """What the estimate knows of one send of the re-sync (no Salesforce call)."""

    contact_id: int
    donor_id: str
    email: str
    known: bool  # has a ThankView__c in this org: updated, never matched again
    needs_match: bool  # no record and no kept match: matched first
    lead_linked: bool  # its record links a Lead only: the converted-Lead check asks about it
    outcome_unknown: bool  # an earlier create's outcome is unknown: adoption asks about it


@dataclass
class Estimate:
    sends: int
    to_match: int
    path: str  # "collections" | "bulk"
    threshold: int
    setup: int = RUN_FIXED_CALLS
    matching: int = 0  # Donor ID and email lookups
    checks: int = 0  # converted Leads, adoption, unsettled Bulk jobs
    writes: int = 0  # Collections calls, or Bulk job calls

    @property
    def calls(self) -> int:
        return self.setup + self.matching + self.checks + self.writes if self.sends else 0

    @property
    def path_label(self) -> str:
        return "Bulk API 2.0" if self.path == "bulk" else "sObject Collections"


def send_plans(*, org_id: str, sends) -> list[SendPlan]:
    """The sends (a queryset), in the run's order, with their record in ``org_id``."""
    rows = {
        sid: (record_id, lead_id, contact_id, marker, method)
        for sid, record_id, lead_id, contact_id, marker, method in SalesforceRecord.objects.filter(
            org_id=org_id, send__in=sends
        ).values_list("send_id", "record_id", "lead_id", "contact_id", "attempt_marker", "match_method")
    }
    plans = []
    for sid, contact_id, donor_id, email in sends.order_by("pk").values_list(
        "pk", "contact_id", "contact__donor_id", "contact__email"
    ):
        record_id, lead_id, linked_contact, marker, method = rows.get(sid, ("", "", "", "", ""))
        plans.append(SendPlan(
            contact_id=contact_id, donor_id=donor_id or "", email=email or "", known=bool(record_id),
            needs_match=not record_id and not (marker and method),
            lead_linked=bool(record_id and lead_id and not linked_contact),
            outcome_unknown=bool(marker and not record_id and (linked_contact or lead_id)),
        ))
    return plans


def estimate_calls(plans: list[SendPlan], *, config: MatchConfig | None = None, external_id: str | None = None,
                   unsettled_jobs: int = 0, threshold: int | None = None) -> Estimate:
    """The API calls of a run that writes the sends of ``plans`` (see the module docstring)."""
    threshold = int(settings.SALESFORCE_BULK_THRESHOLD) if threshold is None else threshold
    config = config or MatchConfig()
    est = Estimate(sends=len(plans), to_match=sum(p.needs_match for p in plans),
                   path="bulk" if len(plans) > threshold else "collections", threshold=threshold)
    if not plans:
        return est
    est.checks = unsettled_jobs
    if est.path == "bulk":
        _bulk(est, plans, config, external_id)
    else:
        _collections(est, plans, config, external_id)
    return est


def _checks(batch: list[SendPlan], config: MatchConfig, external_id: str | None) -> int:
    """The converted-Lead check and the adoption query of one prepared batch."""
    converted = int(not config.is_custom and any(p.lead_linked for p in batch))
    adoption = int(not external_id and any(p.outcome_unknown for p in batch))
    return converted + adoption


def _matching(plans: list[SendPlan], config: MatchConfig) -> int:
    items = {p.contact_id: MatchInput(key=p.contact_id, donor_id=p.donor_id, email=p.email) for p in plans if p.needs_match}
    return lookup_calls(list(items.values()), config=config) if items else 0


def _collections(est: Estimate, plans: list[SendPlan], config: MatchConfig, external_id: str | None) -> None:
    for batch in chunks(plans, BATCH_SIZE):
        est.matching += _matching(batch, config)
        est.checks += _checks(batch, config, external_id)
        known = sum(p.known for p in batch)
        est.writes += math.ceil(known / COLLECTION_LIMIT) + math.ceil((len(batch) - known) / COLLECTION_LIMIT)


def _bulk(est: Estimate, plans: list[SendPlan], config: MatchConfig, external_id: str | None) -> None:
    for window in chunks(plans, bulk_writer.MATCH_WINDOW):  # matched ahead, a window at a time
        est.matching += _matching(window, config)
        for batch in chunks(window, bulk_writer.PREPARE_BATCH):
            est.checks += _checks(batch, config, external_id)
    known = sum(p.known for p in plans)
    for rows in (known, len(plans) - known):  # an update job, and an insert or upsert job
        jobs = math.ceil(rows / BULK_ROWS_PER_JOB)
        polls = jobs * BULK_POLLS_PER_JOB + math.ceil(rows / BULK_ROWS_PER_INTERNAL_BATCH)
        est.writes += jobs * BULK_JOB_CALLS + (polls if rows else 0)


# --- the admin's re-sync confirmation ---------------------------------------------------


@dataclass
class ResyncEstimate:
    portal: object
    connection: object
    campaigns: list
    estimate: Estimate | None = None
    maximum: int | None = None  # the org's DailyApiRequests
    remaining: int | None = None
    remaining_source: str = ""  # "live /limits" or "last known (...)"
    cap_calls: int | None = None
    cap_used: int = 0
    problem: str = ""  # not connected, ...

    @property
    def cap_left(self) -> int | None:
        return None if self.cap_calls is None else max(self.cap_calls - self.cap_used, 0)

    @property
    def fits(self) -> bool:
        if self.estimate is None:
            return False
        limits = [x for x in (self.remaining, self.cap_left) if x is not None]
        return all(self.estimate.calls <= x for x in limits)


def resync_estimate(*, connection, campaigns, live: bool = True) -> ResyncEstimate:
    """What re-syncing ``campaigns`` (one portal's) will cost, and what the org has left.

    Asks Salesforce live (one API call, ``live``): ``/limits`` where the user may read it,
    else that answer's usage header; if Salesforce cannot be asked, the last known figures
    are shown and labelled so.
    """
    out = ResyncEstimate(portal=connection.portal if connection else None, connection=connection, campaigns=campaigns)
    if connection is None or not connection.org_id or not connection.has_tokens:
        out.problem = "Not connected to Salesforce: nothing can be re-synced."
        return out
    out.estimate = connection_estimate(connection=connection, sends=Send.objects.filter(campaign__in=campaigns))
    _remaining(out, connection, live)
    return out


def connection_estimate(*, connection, sends) -> Estimate:
    """The estimate for ``sends`` (a queryset) in the connection's org, with its settings."""
    return estimate_calls(
        send_plans(org_id=connection.org_id, sends=sends),
        config=MatchConfig(contact_object=connection.contact_object or "Contact",
                           email_field=connection.contact_email_field or "Email"),
        external_id=external_id_for(connection.schema_cache or {}),
        unsettled_jobs=BulkJob.objects.filter(portal_id=connection.portal_id, org_id=connection.org_id, settled=False)
        .exclude(job_id="").count(),
    )


def _live_figures(connection, out: ResyncEstimate) -> tuple[int, int] | None:
    """Ask Salesforce now: ``/limits`` where allowed, else the usage header of its answer."""
    client = SalesforceClient(connection)
    try:
        limits = limits_or_none(client)
    except SalesforceError as e:
        out.remaining_source = f"last known — Salesforce could not be asked now ({e.code})"
        return None
    if limits is not None:
        limits_record(connection=connection, limits=limits)
        figures = daily_requests(limits)
        if figures is not None:
            out.remaining_source = "live from Salesforce (/limits)"
            return figures
    figures = usage_figures(client.api_usage)
    if figures is not None:
        out.remaining_source = "live from Salesforce (Sforce-Limit-Info)"
    return figures


def _remaining(out: ResyncEstimate, connection, live: bool) -> None:
    """The org's remaining daily requests and the portal's cap, live where possible."""
    figures = _live_figures(connection, out) if live else None
    if figures is None:
        figures = daily_requests(connection.api_limits or {}) if connection.api_limits else None
        if figures is not None:
            out.remaining_source = out.remaining_source or "last known"
    if figures is None:
        figures = usage_figures(last_known_usage(connection))
        if figures is not None:
            out.remaining_source = out.remaining_source or "last known (Sforce-Limit-Info)"
    if figures:
        out.maximum, out.remaining = figures
        out.cap_calls = math.floor(out.maximum * (connection.api_cap_percent or 100) / 100)
        out.cap_used = portal_calls_last_24h(portal_id=connection.portal_id)
