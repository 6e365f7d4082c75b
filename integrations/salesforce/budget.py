"""The API budget of a sync run, and the estimate support sees before a re-sync.

Salesforce counts every REST call against the org's daily allocation. Every REST answer says
where the org stands in its ``Sforce-Limit-Info: api-usage=used/max`` header (REST API
Developer Guide, "Limit Info Header": "returned in each request to the REST API"; reference
§2.1), which the client reads on every call (``client.api_usage``) and keeps on the
connection. ``GET /limits`` is not needed for that, and a least-privilege integration user
cannot call it: the "Limits" resource is only "available ... for API users with the View
Setup and Configuration permission" (REST API Developer Guide, "Limits"), which our
permission set does not grant. So a run never asks ``/limits``; where an admin page does
(``limits_or_none``), a refusal only means "not known from /limits", never a banner.

Several portals may share one org, and the customer's other integrations need their share
too, so a run may spend at most the smaller of:

1. the org **reserve**: the run stops before the org's remaining requests fall below
   ``SALESFORCE_API_RESERVE_PERCENT`` of the maximum;
2. the portal **cap**: support sets ``SalesforceConnection.api_cap_percent`` (default 50 %)
   in Django admin; the portal's sync calls of the last 24 hours (the ``SyncRun.api_calls``
   of its runs) plus this run's may not exceed that share of the org's daily maximum.

A run builds its budget before its first call from the last known figure
(``SalesforceConnection.api_usage_used`` / ``api_usage_max``) or, once its pre-flight
describe has answered, from that answer's header (``run_budget_start``), and checks before
each batch or Bulk job, with the newest header, that what it may take still fits
(``RunBudget.check``). A run that reaches either limit stops cleanly (``SyncRun`` outcome
``api_reserve`` or ``api_cap`` with the figures in its message); the sends not written stay
due and the next cycle resumes.

``estimate_calls`` is the arithmetic behind the admin's "Re-sync selected campaigns"
confirmation page: the calls a run of N due sends costs by sObject Collections (≤ 200 records
per call) or by Bulk API 2.0 (a few calls per job) according to ``SALESFORCE_BULK_THRESHOLD``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from engagement.models import Send

from ..models import SalesforceRecord, SyncRun
from .client import COLLECTION_LIMIT, SalesforceClient
from .errors import NotFound, PermissionDenied, SalesforceError
from .writers import bulk as bulk_writer

# Calls of one Bulk API 2.0 job: create, upload, UploadComplete, successful results, and a
# few polls (the backoff starts at SALESFORCE_BULK_POLL_INITIAL_SECONDS); failed results
# only when rows failed. See writers/bulk_jobs.py.
BULK_JOB_FIXED_CALLS = 4
BULK_JOB_POLLS_ESTIMATE = 3
# Rows per Bulk job: Salesforce accepts up to 150 MB of CSV per job; simple-salesforce and
# this client cut at 100 MB. At ~500 bytes per ThankView__c row that is ~200,000 rows.
BULK_ROWS_PER_JOB_ESTIMATE = 150_000
# Every run starts with one describe (its pre-flight); the budget comes from the headers.
RUN_FIXED_CALLS = 1
# Matching (matching.py) asks in two rounds per batch: Contact by email, then Lead by email for
# the rest. A round that fits one GET (IN lists cut so the URI stays < 16 KB: about 300
# emails) is one call; a longer one goes through /composite: 2,000 emails per statement
# (matching.MAX_COMPOSITE_VALUES), five statements per call.
EMAILS_PER_QUERY = 300
EMAILS_PER_COMPOSITE_QUERY = 2_000
COMPOSITE_QUERIES_PER_CALL = 5
MATCH_QUERIES_PER_BATCH = 2
# The most API calls one batch can take: 4 matching queries (more only for very long
# email lists), 1 converted-Lead check, 1 adoption query, update + create (+ re-create).
BATCH_CALL_ALLOWANCE = 10


class BudgetReached(Exception):
    """The run must stop to stay within the org reserve or the portal cap (not an error)."""

    def __init__(self, message: str, *, outcome: str, code: str):
        super().__init__(message)
        self.outcome, self.code = outcome, code


@dataclass
class RunBudget:
    maximum: int  # the org's daily maximum (Sforce-Limit-Info's second figure)
    remaining: int  # what the org had left when the run's budget was first known
    reserve_left: int  # calls before the org reserve, as of calls_at_read
    cap_calls: int  # the portal's cap, in calls per 24 h
    cap_used: int  # the portal's calls of the last 24 h before this run
    cap_left: int  # calls before the portal cap, as of calls_at_read
    reserve_percent: int
    cap_percent: int
    calls_at_read: int = 0  # the run's calls when the figures above were read

    @property
    def left(self) -> int:
        return min(self.reserve_left, self.cap_left)

    def observe(self, usage: tuple[int, int] | None, calls: int) -> None:
        """A newer ``Sforce-Limit-Info`` figure, read when the run had made ``calls``: the
        reserve follows the org's real usage (other clients' calls included)."""
        if not usage or usage[1] <= 0:
            return
        used, maximum = usage
        self.cap_left -= calls - self.calls_at_read
        self.reserve_left = (maximum - used) - math.ceil(maximum * self.reserve_percent / 100)
        self.maximum, self.calls_at_read = maximum, calls

    def check(self, calls: int, need: int | None = None, usage: tuple[int, int] | None = None) -> None:
        """Raise ``BudgetReached`` unless ``need`` more calls (by default one batch's) fit,
        the run having made ``calls`` so far; ``usage``: the newest header figure."""
        self.observe(usage, calls)
        need = BATCH_CALL_ALLOWANCE if need is None else need
        if self.left - (calls - self.calls_at_read) < need:
            raise self.stop()

    def stop(self) -> BudgetReached:
        if self.cap_left <= self.reserve_left:
            return BudgetReached(
                f"Stopped at this portal's API cap: {self.cap_percent}% of the org's {self.maximum:,} daily requests "
                f"is {self.cap_calls:,} calls per 24 hours, and the portal's sync had used {self.cap_used:,} of them "
                "before this run. The remaining sends stay due; a later cycle resumes once the portal is under its cap.",
                outcome=SyncRun.Outcome.API_CAP, code="PORTAL_API_CAP",
            )
        return BudgetReached(
            f"Stopped to keep {self.reserve_percent}% of the org's daily API requests in reserve "
            f"({self.remaining:,} of {self.maximum:,} were left when the run started). "
            "The remaining sends stay due for the next run.",
            outcome=SyncRun.Outcome.API_RESERVE, code="API_RESERVE",
        )


def daily_requests(limits: dict) -> tuple[int, int] | None:
    """(Max, Remaining) of ``DailyApiRequests`` in a ``/limits`` answer, or None."""
    daily = (limits or {}).get("DailyApiRequests") or {}
    try:
        return int(daily["Max"]), int(daily["Remaining"])
    except (KeyError, TypeError, ValueError):
        return None


def limits_record(*, connection, limits: dict, now: datetime | None = None) -> None:
    """Keep the interesting part of a ``/limits`` answer on the connection (one ``update()``)."""
    keep = {k: limits[k] for k in ("DailyApiRequests", "DailyBulkApiRequests", "DailyBulkV2QueryJobs") if k in limits}
    now = now or timezone.now()
    type(connection).objects.filter(pk=connection.pk).update(api_limits=keep, api_limits_at=now)
    connection.api_limits, connection.api_limits_at = keep, now


def portal_calls_last_24h(*, portal_id: int, now: datetime | None = None, exclude_run_id: int | None = None) -> int:
    now = now or timezone.now()
    qs = SyncRun.objects.filter(portal_id=portal_id, started_at__gt=now - timedelta(hours=24))
    if exclude_run_id:
        qs = qs.exclude(pk=exclude_run_id)
    return int(qs.aggregate(n=Sum("api_calls"))["n"] or 0)


def usage_figures(usage: tuple[int, int] | None) -> tuple[int, int] | None:
    """(maximum, remaining) of an ``api-usage=used/max`` figure, or None."""
    if not usage or not usage[1]:
        return None
    used, maximum = usage
    return maximum, max(maximum - used, 0)


def run_budget(*, connection, figures: tuple[int, int] | None, run=None, calls_so_far: int = 0,
               now: datetime | None = None) -> RunBudget | None:
    """The budget of a run from the org's (maximum, remaining) (None: unknown, no limit).

    ``calls_so_far``: the run's calls before this point (its describe) count against the
    portal cap too.
    """
    if figures is None:
        return None
    maximum, remaining = figures
    reserve_percent = int(settings.SALESFORCE_API_RESERVE_PERCENT)
    cap_percent = int(connection.api_cap_percent or 100)
    cap_calls = math.floor(maximum * cap_percent / 100)
    used = portal_calls_last_24h(
        portal_id=connection.portal_id, now=now, exclude_run_id=getattr(run, "pk", None)
    )
    return RunBudget(
        maximum=maximum,
        remaining=remaining,
        reserve_left=remaining - math.ceil(maximum * reserve_percent / 100),
        cap_calls=cap_calls,
        cap_used=used,
        cap_left=cap_calls - used - calls_so_far,
        reserve_percent=reserve_percent,
        cap_percent=cap_percent,
        calls_at_read=calls_so_far,
    )


def last_known_usage(connection) -> tuple[int, int] | None:
    """The connection's last ``Sforce-Limit-Info`` figure (used, max), or None."""
    if not connection.api_usage_max:
        return None
    return int(connection.api_usage_used or 0), int(connection.api_usage_max)


def run_budget_start(*, client: SalesforceClient, run: SyncRun, check: bool = True) -> RunBudget | None:
    """The run's budget from the newest figure it has: the header of its last answer, else
    the connection's last known one (before the run's first call). Kept on the run; with
    ``check``, the run stops at once if the reserve or the cap is already reached."""
    usage = client.api_usage or last_known_usage(client.connection)
    budget = run_budget(connection=client.connection, figures=usage_figures(usage), run=run,
                        calls_so_far=client.api_calls)
    if budget is None:
        return None
    run.api_remaining, run.api_max = budget.remaining, budget.maximum
    if check:
        budget.check(client.api_calls)
    return budget


def limits_or_none(client: SalesforceClient) -> dict | None:
    """``GET /limits`` where the user may read it; None where it is refused (a user without
    View Setup and Configuration, see the module docstring): not known from /limits, no
    banner. Its answer still carries the usage header, which the client keeps."""
    try:
        return client.limits()
    except (PermissionDenied, NotFound):
        return None


# --- estimate ---------------------------------------------------------------------------


@dataclass
class Estimate:
    sends: int  # sends the re-sync makes due
    to_match: int  # of which have no record in the org yet (matching queries)
    path: str  # "collections" | "bulk"
    calls: int
    collections_calls: int
    bulk_calls: int
    threshold: int

    @property
    def path_label(self) -> str:
        return "Bulk API 2.0" if self.path == "bulk" else "sObject Collections"


def _matching_calls(to_match: int, batch: int) -> int:
    if not to_match:
        return 0
    batches = math.ceil(to_match / batch)
    size = min(batch, to_match)
    if size <= EMAILS_PER_QUERY:
        per_round = 1
    else:
        per_round = math.ceil(math.ceil(size / EMAILS_PER_COMPOSITE_QUERY) / COMPOSITE_QUERIES_PER_CALL)
    return batches * MATCH_QUERIES_PER_BATCH * per_round


def collections_calls(sends: int, to_match: int = 0) -> int:
    """Calls of a run writing ``sends`` with sObject Collections (matching ``to_match``)."""
    if not sends:
        return 0
    return RUN_FIXED_CALLS + math.ceil(sends / COLLECTION_LIMIT) + _matching_calls(to_match, COLLECTION_LIMIT)


def bulk_calls(sends: int, to_match: int = 0) -> int:
    """Calls of a run writing ``sends`` with Bulk API 2.0: known records in an update job,
    new ones in an insert/upsert job; matching ``writers.bulk.MATCH_WINDOW`` sends at a time."""
    if not sends:
        return 0
    known = sends - to_match
    jobs = sum(math.ceil(n / BULK_ROWS_PER_JOB_ESTIMATE) for n in (known, to_match) if n)
    per_job = BULK_JOB_FIXED_CALLS + BULK_JOB_POLLS_ESTIMATE
    return RUN_FIXED_CALLS + jobs * per_job + _matching_calls(to_match, bulk_writer.MATCH_WINDOW)


def estimate_calls(*, sends: int, to_match: int, threshold: int | None = None) -> Estimate:
    threshold = settings.SALESFORCE_BULK_THRESHOLD if threshold is None else threshold
    coll, bulk = collections_calls(sends, to_match), bulk_calls(sends, to_match)
    path = "bulk" if sends > threshold else "collections"
    return Estimate(
        sends=sends, to_match=to_match, path=path, calls=bulk if path == "bulk" else coll,
        collections_calls=coll, bulk_calls=bulk, threshold=threshold,
    )


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


def resync_estimate(*, connection, campaigns, live: bool = True) -> ResyncEstimate:
    """What re-syncing ``campaigns`` (one portal's) will cost, and what the org has left.

    Reads ``/limits`` live (one API call, ``live``); if Salesforce cannot be asked, the last
    known figures (from the latest run or ``Sforce-Limit-Info``) are shown and labelled so.
    """
    out = ResyncEstimate(portal=connection.portal if connection else None, connection=connection, campaigns=campaigns)
    if connection is None or not connection.org_id or not connection.has_tokens:
        out.problem = "Not connected to Salesforce: nothing can be re-synced."
        return out
    sends = Send.objects.filter(campaign__in=campaigns).count()
    known = (
        SalesforceRecord.objects.filter(org_id=connection.org_id, send__campaign__in=campaigns)
        .exclude(record_id="")
        .count()
    )
    out.estimate = estimate_calls(sends=sends, to_match=sends - known)
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
    return out
