"""The sync: every campaign send's engagement into one ``ThankView__c`` record, once.

``sync_portal_run(portal=...)`` is one run for one portal. Celery beat calls it through
``tasks.sync_portal`` every ``SALESFORCE_SYNC_INTERVAL_SECONDS``; ``manage.py
sync_salesforce`` calls it directly. A run:

1. Skips, without any Salesforce call, a portal that is not connected, whose connection
   has expired (only Reconnect helps, so no retry storm), or whose sync support has not
   enabled (connecting and enabling sync are separate steps).
2. Takes the portal's lock (a PostgreSQL session advisory lock; elsewhere a "running run"
   row with an expiry). If another run of this portal holds it, this one returns at once.
   Runs of different portals never wait for each other.
3. Records a ``SyncRun`` and fixes ``cutoff = start − SALESFORCE_SYNC_BUFFER_SECONDS``:
   events received after the cut-off wait for the next run, so a record reflects settled
   engagement and activity reaches Salesforce within interval + buffer.
4. Pre-flight: one describe of ``ThankView__c`` through ``integrations.services
   .connection_check`` (the setup checklist). A mapped field that is gone, or a field
   Salesforce now requires that nothing maps, stops the run before any write: the mapping
   banner is raised, and every send stays due.
5. Budget: reads ``/limits`` and stops (recording why) before the org's remaining daily API
   requests would fall below ``SALESFORCE_API_RESERVE_PERCENT`` of its maximum.
6. Streams the due sends (``due_send_ids``) in batches of ``BATCH_SIZE`` (keyset by send
   id, never all in memory). A send is due when it was sent before the cut-off and
   (a) has no record in this org yet and was sent after sync was enabled, or
   (b) has a row in this org but no ``ThankView__c`` yet (unmatched, rejected, or the
       outcome of its create is unknown), or
   (c) has events received after its last synced cut-off and up to this one, or
   (d) support asked to re-sync it (its campaign).
7. For each batch (``_sync_batch``):
   a. state of each send from its events received up to the cut-off (one query);
   b. matching (``matching.match_contacts``, a few SOQL queries) for sends that have no
      record yet; a send with a record keeps its match, except that a Lead that has since
      been converted relinks the record to its Contact (``Lead__c`` is kept);
   c. sends whose earlier create had an unknown outcome (attempt marker, no id, no External
      ID) are looked up by their natural key and adopted, never created twice;
   d. ``write_batch``: sObject Collections, ≤ 200 per call, ``allOrNone=false``; update by
      id, upsert by ``Send_Id__c`` when that External ID exists, else create after writing
      an attempt marker; a record deleted in Salesforce is created again;
   e. per-send outcomes are stored: the id, the cut-off now synced, or the error (code,
      message, fields) that keeps the send due.
8. Ends the run with an outcome. Whole-call failures stop it, each through the client's
   error classes: session expired (after the client's one refresh) → connection expired +
   banner; API disabled / no access → banner; ``REQUEST_LIMIT_EXCEEDED`` → stop, resume next
   cycle; connection errors / 5xx after the client's retries → "Unable to connect" banner.
   A complete run clears the banners. Whatever was not written stays due.
"""

from __future__ import annotations

import logging
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from engagement.models import Campaign, EngagementEvent, Send
from engagement.selectors import send_states

from ..models import SalesforceConnection, SalesforceRecord, SyncRun
from . import budget, bulk, errors, matching
from .client import COLLECTION_LIMIT, SalesforceClient
from .errors import SalesforceError
from .mapping import build_values, field_types_from_cache, mappings_for
from .schema import OBJECT, SYNC_OWNED

log = logging.getLogger(__name__)

BATCH_SIZE = 200  # one sObject Collections call per batch of creates or updates
# The most API calls one batch can take: 4 matching queries (more only for very long
# email lists), 1 converted-Lead check, 1 adoption query, update + create (+ re-create).
BATCH_CALL_ALLOWANCE = 10
# Advisory-lock namespace (first key of pg_try_advisory_lock(int, int)): "TVsy".
LOCK_NAMESPACE = 0x54567379
# Without PostgreSQL, a "running" SyncRun younger than this holds the lock.
FALLBACK_LOCK_SECONDS = 3 * 3600

Outcome = SyncRun.Outcome
Status = SalesforceRecord.Status

# Update errors that mean the record itself is gone from Salesforce (reference §2.6, §3.2).
RECORD_GONE_CODES = {"ENTITY_IS_DELETED", "NOT_FOUND", "INVALID_CROSS_REFERENCE_KEY"}

NO_MATCH_CODE = "NO_MATCH"
NO_MATCH_MESSAGE = "No Salesforce Contact or Lead has this email."
INVALID_DONOR_ID_CODE = "INVALID_DONOR_ID"


# The org reserve or the portal's API cap is reached: stop before using more (budget.py).
ApiReserveReached = budget.BudgetReached


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


# --- entry point ------------------------------------------------------------------------


def skip_reason(conn: SalesforceConnection | None) -> str:
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

    PostgreSQL: a session-level advisory lock on this thread's database connection. It
    needs no table and no long transaction, and dies with the connection, so a killed worker
    never leaves a stale lock. Other databases (SQLite in ``make run``): a "running"
    SyncRun younger than FALLBACK_LOCK_SECONDS counts as the lock (good enough for one
    development machine).
    """
    if db_connection.vendor == "postgresql":
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
        return
    horizon = timezone.now() - timedelta(seconds=FALLBACK_LOCK_SECONDS)
    busy = SyncRun.objects.filter(portal_id=portal_id, outcome=Outcome.RUNNING, started_at__gt=horizon).exists()
    yield not busy


# --- one run ----------------------------------------------------------------------------


@dataclass
class _Ctx:
    conn: SalesforceConnection
    client: SalesforceClient
    run: SyncRun
    cutoff: datetime
    now: datetime
    schema: dict = field(default_factory=dict)
    mappings: list = field(default_factory=list)
    field_types: dict = field(default_factory=dict)
    external_id: str | None = None
    match_config: matching.MatchConfig = field(default_factory=matching.MatchConfig)
    landing_template: str | None = None  # see _MappedSend
    campaigns: dict = field(default_factory=dict)
    budget_left: int | None = None  # API calls this run may still use (None = unknown)
    run_budget: budget.RunBudget | None = None  # the figures behind budget_left (budget.py)
    calls_at_budget: int = 0

    @property
    def org_id(self):
        return self.conn.org_id

    @property
    def lookup_field(self):
        return self.conn.contact_lookup_field or "Contact__c"


def _run(conn: SalesforceConnection, *, trigger: str, now: datetime | None) -> SyncRun:
    from . import connection as services  # connection_check, and connection_record_* (from banners)

    started = now or timezone.now()
    cutoff = started - timedelta(seconds=settings.SALESFORCE_SYNC_BUFFER_SECONDS)
    portal = conn.portal
    if db_connection.vendor == "postgresql":
        # We hold the lock, so any "running" run of this portal died with its worker.
        SyncRun.objects.filter(portal=portal, outcome=Outcome.RUNNING).update(
            outcome=Outcome.ABANDONED, finished_at=started
        )
    run = SyncRun.objects.create(portal=portal, org_id=conn.org_id, trigger=trigger, started_at=started, cutoff=cutoff)
    client = SalesforceClient(conn)
    client.usage_persist_interval = 10.0  # one committed UPDATE per call adds up over a long run
    ctx = _Ctx(conn=conn, client=client, run=run, cutoff=cutoff, now=started)
    try:
        if not _preflight(ctx):
            run.outcome = Outcome.PERMISSIONS if conn.error_kind == errors.PERMISSIONS else Outcome.MAPPING
            run.error_code, run.error_message = conn.error_code, conn.error_message
        else:
            _read_budget(ctx)
            # More due than SALESFORCE_BULK_THRESHOLD: Bulk API 2.0 jobs (bulk.py, issue 6).
            if not bulk.bulk_run(ctx):
                for send_ids in due_send_ids(
                    portal=portal, org_id=conn.org_id, cutoff=cutoff, enabled_at=conn.sync_enabled_at
                ):
                    _spend_check(ctx)
                    run.due += len(send_ids)
                    _sync_batch(ctx, send_ids)
            run.outcome = Outcome.PARTIAL if run.failed else Outcome.OK
            services.connection_record_success(connection=conn)
    except ApiReserveReached as e:
        run.outcome, run.error_code, run.error_message = e.outcome, e.code, str(e)
    except SalesforceError as e:
        run.outcome = _outcome_for(e)
        run.error_code, run.error_message = e.code[:80], e.message
        services.connection_record_error(connection=conn, error=e)
    except Exception as e:  # a bug: record it on the run, then let Celery / the command see it
        run.outcome, run.error_code, run.error_message = Outcome.ERROR, type(e).__name__, str(e)[:2000]
        raise
    finally:
        client.flush_usage()
        run.finished_at = timezone.now()
        run.api_calls = client.api_calls
        if client.api_usage:
            used, total = client.api_usage
            run.api_remaining, run.api_max = max(total - used, 0), total
        run.save()
        log.info("Salesforce sync of %s: %s", portal.slug, run.summary())
    return run


def _counts(run):
    return {k: getattr(run, k) for k in ("due", "created", "updated", "adopted", "unmatched", "failed", "invalid_donor_ids")}


def _outcome_for(e: SalesforceError) -> str:
    if isinstance(e, errors.SessionExpired):
        return Outcome.SESSION_EXPIRED
    if isinstance(e, errors.PermissionDenied):
        return Outcome.PERMISSIONS
    if isinstance(e, errors.MappingError):
        return Outcome.MAPPING
    if isinstance(e, errors.RateLimited):
        return Outcome.RATE_LIMITED
    if isinstance(e, errors.Unavailable):
        return Outcome.UNAVAILABLE
    return Outcome.ERROR


def _preflight(ctx: _Ctx) -> bool:
    """One describe through the settings page's checklist; False (banner raised) on a problem."""
    from . import connection as services

    describe = ctx.client.describe_or_none(OBJECT)  # SalesforceError propagates: stop the run
    checklist = services.connection_check(connection=ctx.conn, describe=describe or {})
    if checklist is None or checklist.problem:
        return False
    ctx.schema = ctx.conn.schema_cache or {}
    ctx.field_types = field_types_from_cache(ctx.schema)
    ctx.mappings = [m for m in mappings_for(ctx.conn.portal) if m.target_field not in SYNC_OWNED]
    ctx.external_id = "Send_Id__c" if ctx.schema.get("send_id_external") else None
    ctx.match_config = matching.MatchConfig(
        contact_object=ctx.conn.contact_object or "Contact", email_field=ctx.conn.contact_email_field or "Email"
    )
    return True


def _read_budget(ctx: _Ctx) -> None:
    """Read /limits; stop now if the org reserve or the portal's cap is reached (budget.py)."""
    limits = ctx.client.limits()
    budget.limits_record(connection=ctx.conn, limits=limits)
    b = budget.run_budget(connection=ctx.conn, limits=limits, run=ctx.run, calls_so_far=ctx.client.api_calls)
    if b is None:
        return
    ctx.run_budget = b
    ctx.budget_left = b.left
    ctx.calls_at_budget = ctx.client.api_calls
    ctx.run.api_remaining, ctx.run.api_max = b.remaining, b.maximum
    _spend_check(ctx)


def _spend_check(ctx: _Ctx, need: int = BATCH_CALL_ALLOWANCE) -> None:
    """Stop (``ApiReserveReached``) unless ``need`` more calls fit in the run's budget."""
    if ctx.budget_left is None:
        return
    left = ctx.budget_left - (ctx.client.api_calls - ctx.calls_at_budget)
    if left < need:
        raise ctx.run_budget.stop()


# --- what is due ------------------------------------------------------------------------


def due_send_ids(*, portal, org_id: str, cutoff: datetime, enabled_at: datetime | None, batch_size: int = BATCH_SIZE):
    """Yield lists of due send ids, ascending, ``batch_size`` at a time (keyset pagination).

    One indexed query per batch; see the module docstring (step 6) for the rule.
    """
    send_t = Send._meta.db_table
    campaign_t = Campaign._meta.db_table
    record_t = SalesforceRecord._meta.db_table
    event_t = EngagementEvent._meta.db_table
    sql = f"""
        SELECT s.id FROM {send_t} s
        JOIN {campaign_t} c ON c.id = s.campaign_id
        LEFT JOIN {record_t} r ON r.send_id = s.id AND r.org_id = %s
        WHERE c.portal_id = %s AND s.sent_at < %s AND s.id > %s AND (
            (r.id IS NULL AND s.sent_at >= %s)
            OR r.record_id = ''
            OR r.resync_requested_at IS NOT NULL
            OR (r.id IS NOT NULL AND EXISTS (
                SELECT 1 FROM {event_t} e
                WHERE e.send_id = s.id AND e.received_at <= %s
                  AND (r.last_synced_cutoff IS NULL OR e.received_at > r.last_synced_cutoff)
            ))
        )
        ORDER BY s.id LIMIT %s
    """
    # Never enabled: nothing is new-due (support's re-sync still works).
    enabled_at = enabled_at or cutoff
    after = 0
    while True:
        with db_connection.cursor() as cur:
            cur.execute(sql, [org_id, portal.pk, cutoff, after, enabled_at, cutoff, batch_size])
            ids = [row[0] for row in cur.fetchall()]
        if not ids:
            return
        yield ids
        if len(ids) < batch_size:
            return
        after = ids[-1]


# --- one batch --------------------------------------------------------------------------


@dataclass
class WriteItem:
    """One send's record to write: ``record_id`` set → update, else create (or upsert)."""

    send_id: int
    values: dict
    record_id: str = ""


@dataclass
class WriteOutcome:
    send_id: int
    ok: bool
    record_id: str = ""
    created: bool = False
    error: tuple[str, str, list[str]] | None = None  # (code, message, fields)


@dataclass
class BatchResult:
    outcomes: dict[int, WriteOutcome] = field(default_factory=dict)
    # A whole-call failure: the items without an outcome were not (or not surely) written.
    error: SalesforceError | None = None


def _needs_match(r: SalesforceRecord) -> bool:
    """Step b's rule: a send without a record is matched, unless an attempt kept its match."""
    return not r.record_id and not (r.attempt_marker and r.match_method)


def matches_ahead(ctx: _Ctx, send_ids: list[int]) -> dict:
    """Step b for many sends at once, without loading them: ``{contact pk: Match}`` for the
    sends that need matching, for ``_sync_batch(matches=...)``. The Bulk path matches 10,000
    sends in a couple of ``/composite`` calls this way, yet prepares them 2,000 at a time."""
    done = {
        sid for sid, record_id, marker, method in SalesforceRecord.objects.filter(
            org_id=ctx.org_id, send_id__in=send_ids
        ).values_list("send_id", "record_id", "attempt_marker", "match_method")
        if not _needs_match(SalesforceRecord(record_id=record_id, attempt_marker=marker, match_method=method))
    }
    items = {
        cid: matching.MatchInput(key=cid, donor_id=donor_id, email=email)
        for cid, donor_id, email in Send.objects.filter(pk__in=[s for s in send_ids if s not in done])
        .values_list("contact_id", "contact__donor_id", "contact__email")
    }
    if not items:
        return {}
    return matching.match_contacts(ctx.client, list(items.values()), config=ctx.match_config)


def _sync_batch(ctx: _Ctx, send_ids: list[int], *, writer=None, matches: dict | None = None) -> None:
    """One batch of due sends, steps a–e of the module docstring.

    ``writer`` replaces ``write_batch`` (same signature and contract); the Bulk API 2.0
    path (``bulk.py``) passes one that spools the items into a job and answers no outcome
    yet, so step e stores the matches and attempt markers and the sends stay due until
    the job's results are stored with ``apply_outcomes``. ``matches`` (``matches_ahead``)
    answers step b for the contacts it covers; the others are matched here.
    """
    run, org_id = ctx.run, ctx.org_id
    sends = {s.pk: s for s in Send.objects.filter(pk__in=send_ids).select_related("contact")}
    for s in sends.values():  # a portal has few campaigns: load each once per run, not per send
        if s.campaign_id not in ctx.campaigns:
            ctx.campaigns[s.campaign_id] = Campaign.objects.get(pk=s.campaign_id)
        s.campaign = ctx.campaigns[s.campaign_id]
    portal = ctx.conn.portal
    records = {r.send_id: r for r in SalesforceRecord.objects.filter(org_id=org_id, send_id__in=list(sends))}
    for sid in sends:  # first time in this org: a row in memory, stored with the outcome
        if sid not in records:
            records[sid] = SalesforceRecord(send_id=sid, portal=portal, org_id=org_id)
    states = send_states(list(sends), cutoff=ctx.cutoff)

    # a. Relink records whose Lead has been converted since (one query for the batch).
    relink: dict[int, str] = {}
    lead_linked = {
        r.lead_id: sid for sid, r in records.items()
        if r.record_id and r.lead_id and not r.contact_id and not ctx.match_config.is_custom
    }
    if lead_linked:
        for lead_id, row in matching.leads_by_id(ctx.client, lead_linked).items():
            if row.get("IsConverted") and row.get("ConvertedContactId"):
                relink[lead_linked[lead_id]] = row["ConvertedContactId"]

    # b. Match sends that have no record yet (a record keeps its match).
    to_match = [sid for sid, r in records.items() if _needs_match(r)]
    if to_match:
        known = matches or {}
        items = {}
        for sid in to_match:
            c = sends[sid].contact
            if c.pk not in known:
                items[c.pk] = matching.MatchInput(key=c.pk, donor_id=c.donor_id, email=c.email)
        found = matching.match_contacts(ctx.client, list(items.values()), config=ctx.match_config) if items else {}
        for sid in to_match:
            cid = sends[sid].contact_id
            m = found[cid] if cid in found else known[cid]
            r = records[sid]
            r.match_method, r.contact_id, r.lead_id = m.method, m.contact_id, m.lead_id
            r.lookup_field = ctx.lookup_field if m.contact_id else ""
            r.match_note, r.donor_id_invalid = m.note[:255], m.donor_id_invalid
            if m.donor_id_invalid:
                run.invalid_donor_ids += 1

    # c. Adopt what an earlier create with an unknown outcome left in Salesforce.
    adopted: set[int] = set()
    if not ctx.external_id:
        adopted = _adopt(ctx, [r for r in records.values() if r.attempt_marker and not r.record_id], sends)

    # d. Build the writes; unmatched sends are not written and are listed with their reason.
    items: list[WriteItem] = []
    for sid, r in records.items():
        if not r.record_id and not (r.contact_id or r.lead_id):
            r.status = Status.UNMATCHED
            if r.donor_id_invalid:
                r.error_code = INVALID_DONOR_ID_CODE
                r.error_message = "The contact's Donor ID is not a valid Salesforce ID, and no Contact or Lead has the email."
            else:
                r.error_code, r.error_message = NO_MATCH_CODE, NO_MATCH_MESSAGE
            r.error_fields = []
            run.unmatched += 1
            continue
        send = sends[sid]
        values = build_values(
            ctx.mappings, send=_MappedSend(send, ctx), campaign=send.campaign, contact=send.contact,
            state=states[sid], field_types=ctx.field_types,
        )
        values.update(_owned_values(ctx, send, r, creating=not r.record_id, relink_to=relink.get(sid)))
        items.append(WriteItem(send_id=sid, values=values, record_id=r.record_id))

    def mark_attempt(create_items: list[WriteItem]):
        """Persist (commit) an attempt marker on each send *before* its create call."""
        marker, at = str(uuid.uuid4()), timezone.now()
        batch = [records[i.send_id] for i in create_items]
        for r in batch:
            r.attempt_marker, r.attempt_at = marker, at
        with transaction.atomic():
            _save_records(batch)

    result = (writer or write_batch)(ctx.client, items, external_id=ctx.external_id, before_create=mark_attempt)

    # e. Store each send's outcome; a send without one was not written and stays due.
    banner_error = apply_outcomes(ctx, records, result.outcomes, adopted=adopted, relink=relink)
    with transaction.atomic():  # one commit for the batch's outcomes and the run's counts
        _save_records(list(records.values()))
        SyncRun.objects.filter(pk=run.pk).update(**_counts(run), api_calls=ctx.client.api_calls)
    if result.error is not None:
        raise result.error
    if banner_error is not None:
        # Salesforce refused records for a reason the customer must fix (a field, access):
        # writing more would fail the same way. Stop; the sends stay due.
        raise banner_error


def apply_outcomes(ctx: _Ctx, records: dict, outcomes: dict, *, adopted=(), relink=None):
    """Step e: store each written send's outcome on its record (in memory; the caller saves)
    and count it on the run. Returns the first error that needs a banner (mapping or
    permissions), or None. Shared by sObject Collections and Bulk API 2.0 (``bulk.py``), so a
    per-record failure lands on the send the same way whichever path wrote it."""
    run = ctx.run
    relink = relink or {}
    now = timezone.now()
    banner_error = None
    for sid, out in outcomes.items():
        r = records[sid]
        r.attempts += 1
        if out.ok:
            if out.created:
                run.created += 1
            elif sid in adopted:
                run.adopted += 1
            else:
                run.updated += 1
            r.record_id = out.record_id or r.record_id
            r.status = Status.SYNCED
            r.last_synced_cutoff, r.synced_at = ctx.cutoff, now
            r.resync_requested_at = None
            r.attempt_marker, r.attempt_at = "", None
            r.error_code, r.error_message, r.error_fields = "", "", []
            if sid in relink:
                r.contact_id, r.lookup_field = relink[sid], ctx.lookup_field
        else:
            run.failed += 1
            code, message, fields = out.error or ("", "", [])
            r.status = Status.FAILED
            r.error_code, r.error_message, r.error_fields = code[:80], message, list(fields)
            r.attempt_marker, r.attempt_at = "", None  # Salesforce answered: the outcome is known
            if out.record_id == "" and r.record_id:  # the record was deleted and re-creating failed
                r.record_id = ""
            err = errors.error_for(code, message, fields=fields)
            if err.kind in (errors.MAPPING, errors.PERMISSIONS) and banner_error is None:
                banner_error = err
    return banner_error


# Columns the batch writes back, and their PostgreSQL types (for the VALUES list below).
_SAVED_COLUMNS = [
    ("status", "varchar"), ("record_id", "varchar"), ("match_method", "varchar"), ("lookup_field", "varchar"),
    ("contact_id", "varchar"), ("lead_id", "varchar"), ("match_note", "varchar"), ("donor_id_invalid", "boolean"),
    ("last_synced_cutoff", "timestamptz"), ("synced_at", "timestamptz"), ("resync_requested_at", "timestamptz"),
    ("attempt_marker", "varchar"), ("attempt_at", "timestamptz"), ("error_code", "varchar"),
    ("error_message", "text"), ("error_fields", "jsonb"), ("attempts", "integer"), ("updated_at", "timestamptz"),
]


def _save_records(records: list[SalesforceRecord]) -> None:
    """Write the batch's records: new rows in one INSERT, known rows in one UPDATE.

    Django's ``bulk_update`` builds a CASE expression per column and row, which costs about
    1.7 s of Python per 200 rows (measured, benchmarks/README.md); on PostgreSQL one
    ``UPDATE ... FROM (VALUES ...)`` does the same in milliseconds.
    """
    import json

    now = timezone.now()
    for r in records:
        r.updated_at = now
    names = [c for c, _ in _SAVED_COLUMNS]
    new = [r for r in records if r.pk is None]
    known = [r for r in records if r.pk is not None]
    if db_connection.vendor != "postgresql":
        if new:
            SalesforceRecord.objects.bulk_create(
                new, update_conflicts=True, unique_fields=["send", "org_id"], update_fields=names
            )
        if known:
            SalesforceRecord.objects.bulk_update(known, names)
        return
    from psycopg2.extras import execute_values

    def values(r):
        return [json.dumps(getattr(r, c)) if t == "jsonb" else getattr(r, c) for c, t in _SAVED_COLUMNS]

    table = SalesforceRecord._meta.db_table
    template = ", ".join(f"%s::{t}" for _, t in _SAVED_COLUMNS)
    with db_connection.cursor() as cur:
        if new:
            # ON CONFLICT: support may have queued a re-sync of the same send meanwhile.
            sql = (
                f"INSERT INTO {table} (send_id, portal_id, org_id, created_at, {', '.join(names)}) VALUES %s "
                f"ON CONFLICT (send_id, org_id) DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in names)} "
                "RETURNING id, send_id"
            )
            rows = [(r.send_id, r.portal_id, r.org_id, r.created_at, *values(r)) for r in new]
            returned = execute_values(
                cur.cursor, sql, rows, template=f"(%s, %s, %s, %s, {template})", page_size=len(rows), fetch=True
            )
            pks = {send_id: pk for pk, send_id in returned}
            for r in new:
                r.pk = pks[r.send_id]
                r._state.adding = False
        if known:
            sets = ", ".join(f"{c} = v.{c}" for c in names)
            sql = f"UPDATE {table} AS t SET {sets} FROM (VALUES %s) AS v(id, {', '.join(names)}) WHERE t.id = v.id"
            rows = [(r.pk, *values(r)) for r in known]
            execute_values(cur.cursor, sql, rows, template=f"(%s::bigint, {template})", page_size=len(rows))


class _MappedSend:
    """A send as the field mappings see it, with ``landing_url`` built from a template.

    ``Send.landing_url`` runs ``reverse()`` per send (about 65 µs, a third of the per-send
    Python time of a large run); the URL differs between sends only by the token, so the
    run renders it once for a placeholder token and substitutes (tokens are URL-safe).
    """

    _PLACEHOLDER = "tvsynctokenplaceholder"

    def __init__(self, send, ctx):
        self._send = send
        if ctx.landing_template is None:
            ctx.landing_template = Send(token=self._PLACEHOLDER).landing_url
        self.landing_url = ctx.landing_template.replace(self._PLACEHOLDER, send.token)

    def __getattr__(self, name):
        return getattr(self._send, name)


def _owned_values(ctx: _Ctx, send, r: SalesforceRecord, *, creating: bool, relink_to: str | None) -> dict:
    """Fields the sync fills itself: the lookups (on create, or a Lead's conversion),
    ``Portal_Id__c`` / ``Portal_Name__c`` when describe shows them, ``Send_Id__c``."""
    values = {}
    if creating:
        if r.contact_id:
            values[r.lookup_field or ctx.lookup_field] = r.contact_id
        if r.lead_id:
            values["Lead__c"] = r.lead_id
    elif relink_to:
        values[ctx.lookup_field] = relink_to
    if ctx.schema.get("portal_id_present"):
        values["Portal_Id__c"] = str(ctx.conn.portal_id)
    if ctx.schema.get("portal_name_present"):
        values["Portal_Name__c"] = ctx.conn.portal.name[:255]
    if ctx.external_id:
        values[ctx.external_id] = send_key(send)
    return values


def send_key(send) -> str:
    """The stable, unique value of ``Send_Id__c`` for a send (not its secret token)."""
    return f"tv-{send.campaign.portal_id}-{send.pk}"


def _adopt(ctx: _Ctx, pending: list[SalesforceRecord], sends: dict) -> set[int]:
    """Find records an unknown-outcome create left behind, by natural key, and take them.

    Natural key: lookup + ``Event_Name__c`` + ``Sent_Date__c`` (+ ``Portal_Id__c`` when
    present). A record already owned by another send in this org is never taken.
    """
    if not pending:
        return set()
    lookup = ctx.lookup_field
    contact_ids = {r.contact_id for r in pending if r.contact_id}
    lead_ids = {r.lead_id for r in pending if r.lead_id}
    names = {sends[r.send_id].campaign.name for r in pending}
    where_lookup = []
    if contact_ids:
        where_lookup.append(f"{lookup} IN ({', '.join(map(matching.soql_quote, sorted(contact_ids)))})")
    if lead_ids:
        where_lookup.append(f"Lead__c IN ({', '.join(map(matching.soql_quote, sorted(lead_ids)))})")
    if not where_lookup:
        return set()
    portal_clause = ""
    if ctx.schema.get("portal_id_present"):
        portal_clause = f" AND Portal_Id__c = {matching.soql_quote(str(ctx.conn.portal_id))}"
    template = (
        f"SELECT Id, {lookup}, Lead__c, Event_Name__c, Sent_Date__c FROM {OBJECT} "
        f"WHERE ({' OR '.join(where_lookup)}){portal_clause} AND Event_Name__c IN ({{values}})"
    )
    rows = matching.query_in(ctx.client, template, names)
    owned = set(
        SalesforceRecord.objects.filter(org_id=ctx.org_id, record_id__in=[row["Id"] for row in rows])
        .exclude(send_id__in=[r.send_id for r in pending])
        .values_list("record_id", flat=True)
    )
    by_key: dict[tuple, list[str]] = {}
    for row in rows:
        if row["Id"] in owned:
            continue
        who = row.get(lookup) or row.get("Lead__c") or ""
        key = (who[:15], (row.get("Event_Name__c") or "").lower(), _ms(row.get("Sent_Date__c")))
        by_key.setdefault(key, []).append(row["Id"])
    adopted = set()
    for r in pending:
        send = sends[r.send_id]
        who = r.contact_id or r.lead_id
        key = (who[:15], send.campaign.name.lower(), _ms(send.sent_at))
        found = by_key.get(key)
        if found:
            r.record_id = found.pop(0)
            adopted.add(r.send_id)
    return adopted


def _ms(value) -> str:
    """A datetime (ours or Salesforce's ``2018-12-18T22:51:36.000+0000``) to UTC milliseconds."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value.replace("Z", "+00:00")
        if len(text) >= 5 and text[-5] in "+-" and ":" not in text[-5:]:
            text = text[:-2] + ":" + text[-2:]
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds")


# --- the write step (a Bulk API 2.0 writer can replace it for large runs) ---------------


def write_batch(client, items: list[WriteItem], *, external_id: str | None, before_create=None, sobject: str = OBJECT) -> BatchResult:
    """Write ``items`` with sObject Collections; one ``WriteOutcome`` per item written.

    1. Items with a record id → ``collection_update`` (by id, ≤ 200 per call).
       An update refused because the record is gone (deleted in Salesforce) → create again.
    2. Items without one → ``collection_upsert`` by ``external_id`` when given (idempotent,
       safe to retry), else ``before_create(items)`` (persist attempt markers) and then
       ``collection_create``.
    3. A whole-call failure stops the step: ``BatchResult.error`` is set and the items not yet
       answered have no outcome (the caller leaves them due).

    Same contract for any other writer (e.g. Bulk API 2.0): per-item outcomes, and an error
    for a call that failed as a whole.
    """
    result = BatchResult()
    updates = [i for i in items if i.record_id]
    creates = [i for i in items if not i.record_id]
    try:
        for chunk in _chunks(updates):
            answers = client.collection_update(
                [{"id": i.record_id, **i.values} for i in chunk], sobject=sobject
            )
            for item, res in zip(chunk, answers):
                if res.ok:
                    result.outcomes[item.send_id] = WriteOutcome(item.send_id, True, res.id or item.record_id)
                elif set(res.error_codes) & RECORD_GONE_CODES and not _lookup_error(res):
                    creates.append(WriteItem(item.send_id, item.values, record_id=""))
                else:
                    result.outcomes[item.send_id] = WriteOutcome(item.send_id, False, item.record_id, error=res.errors[0])
        for chunk in _chunks(creates):
            if external_id:
                answers = client.collection_upsert(sobject, external_id, [i.values for i in chunk])
            else:
                if before_create:
                    before_create(chunk)
                answers = client.collection_create([i.values for i in chunk], sobject=sobject)
            for item, res in zip(chunk, answers):
                if res.ok:
                    created = True if res.created is None else bool(res.created)
                    result.outcomes[item.send_id] = WriteOutcome(item.send_id, True, res.id or "", created=created)
                else:
                    result.outcomes[item.send_id] = WriteOutcome(item.send_id, False, "", error=res.errors[0])
    except SalesforceError as e:
        result.error = e
    return result


def _lookup_error(res) -> bool:
    """True when the error points at a lookup field (the Contact is gone), not the record."""
    return any(f and f != "Id" for _, _, fields in res.errors for f in fields)


def _chunks(items, size=COLLECTION_LIMIT):
    for i in range(0, len(items), size):
        yield items[i : i + size]


# --- support operations -----------------------------------------------------------------


def sync_enable(*, connection: SalesforceConnection) -> bool:
    """Turn sync on. The first enable fixes ``sync_enabled_at``: older sends are due only
    when support re-syncs their campaigns. Returns False if it was already on."""
    now = timezone.now()
    changed = SalesforceConnection.objects.filter(pk=connection.pk, sync_enabled=False).update(
        sync_enabled=True, updated_at=now
    )
    SalesforceConnection.objects.filter(pk=connection.pk, sync_enabled_at__isnull=True).update(sync_enabled_at=now)
    connection.refresh_from_db()
    return bool(changed)


def sync_pause(*, connection: SalesforceConnection) -> bool:
    """Pause sync (nothing is lost: what happens meanwhile is synced after re-enabling)."""
    changed = SalesforceConnection.objects.filter(pk=connection.pk, sync_enabled=True).update(
        sync_enabled=False, updated_at=timezone.now()
    )
    connection.refresh_from_db()
    return bool(changed)


def campaign_resync(*, campaign, requested_by=None) -> int:
    """Mark every send of ``campaign`` due in the portal's current org; returns how many.

    Works for campaigns sent before sync was enabled (historical re-sync) and for synced
    ones (their records are updated, never duplicated). Raises ValueError when the portal
    is not connected to an org.
    """
    conn = SalesforceConnection.objects.filter(portal_id=campaign.portal_id).first()
    if conn is None or not conn.org_id:
        raise ValueError(f"{campaign.portal} is not connected to Salesforce.")
    now = timezone.now()
    send_ids = list(Send.objects.filter(campaign=campaign).values_list("pk", flat=True))
    for i in range(0, len(send_ids), 1000):
        chunk = send_ids[i : i + 1000]
        SalesforceRecord.objects.bulk_create(
            [SalesforceRecord(send_id=sid, portal_id=campaign.portal_id, org_id=conn.org_id) for sid in chunk],
            ignore_conflicts=True,
        )
        SalesforceRecord.objects.filter(org_id=conn.org_id, send_id__in=chunk).update(resync_requested_at=now)
    from .progress import resync_request_record  # the sync health page shows its progress (issue 6)

    resync_request_record(campaign=campaign, org_id=conn.org_id, total=len(send_ids), requested_by=requested_by, at=now)
    return len(send_ids)
