"""One run of the sync for one portal: every due send's engagement into its ``ThankView__c``.

``sync_portal_run(portal=...)`` is one run. Celery beat calls it through
``tasks.sync_portal`` every ``SALESFORCE_SYNC_INTERVAL_SECONDS``; ``manage.py
sync_salesforce`` calls it directly. A run:

1. Skips, without any Salesforce call, a portal that is not connected, whose connection
   has expired (only Reconnect helps, so no retry storm), or whose sync support has not
   enabled (connecting and enabling sync are separate steps).
2. Takes the portal's lock (``portal_lock``). If another run of this portal holds it, this
   one returns at once. Runs of different portals never wait for each other.
3. Records a ``SyncRun`` with its cut-off (``due.cutoff_for``: events received later wait
   for the next run).
4. Pre-flight: one describe of ``ThankView__c`` through ``connection.connection_check``
   (the setup checklist). A mapped field that is gone, or a field
   Salesforce now requires that nothing maps, stops the run before any write: the mapping
   banner is raised, and every send stays due.
5. Budget: known before the first call from the last ``Sforce-Limit-Info`` figure, then from
   each answer's header (never ``/limits``, which a least-privilege user may not read); the
   run stops (recording why) before the org's remaining daily API requests fall below the
   reserve or the portal's cap is reached (``budget.py``).
6. Chooses a writer: Bulk API 2.0 above ``SALESFORCE_BULK_THRESHOLD`` due sends, else
   sObject Collections (``writers/``), and drives it through the due sends
   (``due.due_send_ids``), batch after batch (``batch.batch_write``), checking the budget
   before each.
7. Ends the run with an outcome. A whole-call failure stops it with the outcome its error
   class names (``errors.py``): session expired → connection expired + banner; API disabled
   / no access → banner; ``REQUEST_LIMIT_EXCEEDED`` → stop, resume next cycle; connection
   errors / 5xx after the client's retries → "Unable to connect" banner. A complete run
   clears the banners. Whatever was not written stays due.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.db import connection as db_connection
from django.utils import timezone

from ..models import SalesforceConnection, SyncRun
from . import banners, batch, budget, connection, errors
from .client import SalesforceClient, chunks
from .context import RunContext
from .dedupe import external_id_for
from .due import cutoff_for, due_send_ids
from .errors import SalesforceError
from .mapping import field_types_from_cache, mappings_for
from .matching import MatchConfig
from .schema import OBJECT, SYNC_OWNED
from .values import field_infos
from .writers.base import Writer
from .writers.bulk import BulkWriter
from .writers.collections import CollectionsWriter

log = logging.getLogger(__name__)

# Advisory-lock namespace (first key of pg_try_advisory_lock(int, int)): "TVsy".
LOCK_NAMESPACE = 0x54567379
# A long run persists the client's API usage at most this often (each is a committed UPDATE).
USAGE_PERSIST_SECONDS = 10.0

Outcome = SyncRun.Outcome


@dataclass
class RunResult:
    run: SyncRun | None
    skipped: str = ""  # why no run happened: not_connected | expired | sync_disabled | locked

    def summary(self) -> str:
        if self.run is None:
            return f"skipped ({self.skipped})"
        r = self.run
        line = f"{r.get_outcome_display()}: {r.summary()}"
        if r.error_message:
            line += f" — {r.error_code}: {r.error_message}"
        return line


def skip_reason(conn: SalesforceConnection | None) -> str:
    """Step 1: why this portal's sync does not run now ("" = it runs)."""
    if conn is None or not conn.has_tokens or conn.status == SalesforceConnection.Status.DISCONNECTED:
        return "not_connected"
    if conn.status == SalesforceConnection.Status.EXPIRED:
        return "expired"
    if not conn.sync_enabled:
        return "sync_disabled"
    if not conn.org_id:
        return "not_connected"
    return ""


def sync_portal_run(*, portal, trigger: str = "beat", now: datetime | None = None) -> RunResult:
    """One run of the sync for ``portal`` (see the module docstring)."""
    conn = SalesforceConnection.objects.select_related("portal").filter(portal=portal).first()
    reason = skip_reason(conn)
    if reason:
        return RunResult(None, reason)
    with portal_lock(portal.pk) as acquired:
        if not acquired:
            return RunResult(None, "locked")
        conn.refresh_from_db()  # the state after the lock, not before it
        reason = skip_reason(conn)
        if reason:
            return RunResult(None, reason)
        return RunResult(_run(conn, trigger=trigger, now=now))


@contextmanager
def portal_lock(portal_id: int):
    """Hold the portal's sync lock for the block; yields False if another run holds it.

    A session-level PostgreSQL advisory lock on this thread's database connection. It needs
    no table and no long transaction, and dies with the connection, so a killed worker never
    leaves a stale lock.
    """
    with db_connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, portal_id])
        acquired = cur.fetchone()[0]
    if not acquired:
        yield False
        return
    try:
        yield True
    finally:
        with db_connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, portal_id])


# --- one run ----------------------------------------------------------------------------


def _run(conn: SalesforceConnection, *, trigger: str, now: datetime | None) -> SyncRun:
    """Steps 3–7, under the lock."""
    ctx = _start(conn, trigger=trigger, started=now or timezone.now())
    try:
        _sync(ctx)
    except budget.BudgetReached as e:
        ctx.run.outcome, ctx.run.error_code, ctx.run.error_message = e.outcome, e.code, str(e)
    except SalesforceError as e:
        ctx.run.outcome = e.run_outcome
        ctx.run.error_code, ctx.run.error_message = e.code[:80], e.message
        banners.connection_record_error(connection=conn, error=e)
    except Exception as e:  # a bug: record it on the run, then let Celery / the command see it
        ctx.run.outcome, ctx.run.error_code, ctx.run.error_message = Outcome.ERROR, type(e).__name__, str(e)[:2000]
        raise
    finally:
        _finish(ctx)
    return ctx.run


def _start(conn: SalesforceConnection, *, trigger: str, started: datetime) -> RunContext:
    """Step 3: the run's record and context."""
    # We hold the lock, so any "running" run of this portal died with its worker.
    SyncRun.objects.filter(portal=conn.portal, outcome=Outcome.RUNNING).update(
        outcome=Outcome.ABANDONED, finished_at=started
    )
    cutoff = cutoff_for(started)
    run = SyncRun.objects.create(
        portal=conn.portal, org_id=conn.org_id, trigger=trigger, started_at=started, cutoff=cutoff
    )
    client = SalesforceClient(conn, usage_persist_seconds=USAGE_PERSIST_SECONDS)
    return RunContext(conn=conn, client=client, run=run, cutoff=cutoff, now=started)


def _sync(ctx: RunContext) -> None:
    """Steps 4–6."""
    run, conn = ctx.run, ctx.conn
    ctx.budget = budget.run_budget_start(client=ctx.client, run=run, check=False)  # the last known figure
    if not _preflight(ctx):
        run.outcome = Outcome.PERMISSIONS if conn.error_kind == errors.PERMISSIONS else Outcome.MAPPING
        run.error_code, run.error_message = conn.error_code, conn.error_message
        return
    # The describe's own header is newer: stop at once if the reserve or the cap is reached.
    ctx.budget = budget.run_budget_start(client=ctx.client, run=run)
    writer = BulkWriter.for_run(ctx) or CollectionsWriter()
    try:
        _write_due(ctx, writer)
    finally:
        writer.close()
    run.outcome = Outcome.PARTIAL if run.failed else Outcome.OK
    connection.connection_lead_access(connection=conn, error=ctx.lead_access_error)


def _preflight(ctx: RunContext) -> bool:
    """Step 4: one describe through the settings page's checklist; False (banner raised) on a problem."""
    describe = ctx.client.describe_or_none(OBJECT)  # SalesforceError propagates: stop the run
    checklist = connection.connection_check(connection=ctx.conn, describe=describe or {})
    if checklist is None or checklist.problem:
        return False
    ctx.schema = ctx.conn.schema_cache or {}
    ctx.field_types = field_types_from_cache(ctx.schema)
    ctx.field_infos = field_infos(ctx.schema)
    ctx.mappings = [m for m in mappings_for(ctx.portal) if m.target_field not in SYNC_OWNED]
    ctx.external_id = external_id_for(ctx.schema)
    ctx.match_config = MatchConfig(
        contact_object=ctx.conn.contact_object or "Contact", email_field=ctx.conn.contact_email_field or "Email"
    )
    return True


def _write_due(ctx: RunContext, writer: Writer) -> None:
    """Step 6: the due sends, ``writer.window`` at a time (matched ahead when the writer
    wants it), prepared and written ``writer.batch_size`` at a time; then the writer's finish."""
    conn = ctx.conn
    for window in due_send_ids(
        portal=ctx.portal, org_id=ctx.org_id, cutoff=ctx.cutoff, enabled_at=conn.sync_enabled_at,
        batch_size=writer.window,
    ):
        matches = None
        if writer.match_ahead:
            ctx.spend_check()
            matches = batch.matches_ahead(ctx, window)
        for send_ids in chunks(window, writer.batch_size):
            ctx.spend_check()
            ctx.run.due += len(send_ids)
            batch.batch_write(ctx, send_ids, writer=writer, matches=matches)
    writer.finish(ctx)


def _finish(ctx: RunContext) -> None:
    """Step 7's record: times, API calls and usage, logged."""
    run, client = ctx.run, ctx.client
    client.flush_usage()
    run.finished_at = timezone.now()
    run.api_calls = client.api_calls
    if client.api_usage:
        used, total = client.api_usage
        run.api_remaining, run.api_max = max(total - used, 0), total
    run.save()
    log.info("Salesforce sync of %s: %s", ctx.portal.slug, run.summary())
