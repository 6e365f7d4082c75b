"""The API budget of a sync run, and the portal's cap in calls.

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

``portal_cap`` is the cap as support reads it: a percentage, and what that is in calls per
day, next to what the portal used in the last 24 hours. The re-sync estimate is ``estimate.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from ..models import SyncRun
from .client import SalesforceClient
from .errors import NotFound, PermissionDenied

# The most API calls one batch can take: 5 matching queries (more only for very long
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


# --- the cap as support reads it ------------------------------------------------------------


@dataclass
class PortalCap:
    """The portal's cap in percent and in calls per day, and its use of the last 24 hours."""

    percent: int
    used_24h: int  # the portal's sync calls of the last 24 hours
    daily_max: int | None = None  # the org's daily requests, last known
    daily_max_at: datetime | None = None  # when /limits said so; None: the latest Sforce-Limit-Info

    @property
    def calls(self) -> int | None:
        return None if self.daily_max is None else math.floor(self.daily_max * self.percent / 100)

    @property
    def left(self) -> int | None:
        return None if self.calls is None else max(self.calls - self.used_24h, 0)

    @property
    def used_percent(self) -> float | None:
        """The share of the cap used in the last 24 hours."""
        return None if not self.calls else round(100 * self.used_24h / self.calls, 1)


def portal_cap(connection, *, now: datetime | None = None) -> PortalCap:
    """The cap of ``connection``'s portal, computed from the org's last known daily maximum:
    the latest ``Sforce-Limit-Info`` header, else the latest ``/limits`` answer."""
    cap = PortalCap(percent=int(connection.api_cap_percent or 100),
                    used_24h=portal_calls_last_24h(portal_id=connection.portal_id, now=now))
    if connection.api_usage_max:
        cap.daily_max = connection.api_usage_max
    else:
        figures = daily_requests(connection.api_limits)
        if figures:
            cap.daily_max, cap.daily_max_at = figures[0], connection.api_limits_at
    return cap
