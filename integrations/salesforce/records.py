"""Storing each send's outcome on its ``SalesforceRecord`` (one row per send and org).

Whichever writer wrote a send (sObject Collections or Bulk API 2.0), its outcome lands on the
row the same way (``apply_outcomes``): the record id and the cut-off now synced, or the error
(code, message, fields) that keeps the send due. A send that matched nobody is not written
and says why (``mark_unmatched``). A batch's rows and the run's counts are committed
together (``store_batch``), so a run that stops loses nothing it has stored.
"""

from __future__ import annotations

import json

from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone
from psycopg2.extras import execute_values

from ..models import SalesforceRecord, SyncRun
from . import errors, matching, values
from .context import RunContext

Status = SalesforceRecord.Status

NO_MATCH_CODE = "NO_MATCH"
NO_MATCH_MESSAGE = "No Salesforce Contact or Lead has this email."
INVALID_DONOR_ID_CODE = "INVALID_DONOR_ID"
INVALID_DONOR_ID_MESSAGE = "The contact's Donor ID is not a valid Salesforce ID, and no Contact or Lead has the email."
CONVERTED_LEAD_CODE = "CONVERTED_LEAD"
CONVERTED_LEAD_MESSAGE = (
    "The matching Lead was converted, and Salesforce does not let a record link a converted Lead; "
    "its Contact cannot be linked here either (the lookup points at another object, or the Lead has no Contact)."
)

# The run's counters, stored with each batch.
RUN_COUNTS = ("due", "created", "updated", "adopted", "unmatched", "failed", "invalid_donor_ids")

# Columns a batch writes back, and their PostgreSQL types (for the VALUES list below).
SAVED_COLUMNS = [
    ("status", "varchar"), ("record_id", "varchar"), ("match_method", "varchar"), ("lookup_field", "varchar"),
    ("contact_id", "varchar"), ("lead_id", "varchar"), ("match_note", "varchar"), ("value_note", "varchar"),
    ("donor_id_invalid", "boolean"),
    ("last_synced_cutoff", "timestamptz"), ("synced_at", "timestamptz"), ("resync_requested_at", "timestamptz"),
    ("attempt_marker", "varchar"), ("attempt_at", "timestamptz"), ("error_code", "varchar"),
    ("error_message", "text"), ("error_fields", "jsonb"), ("attempts", "integer"), ("updated_at", "timestamptz"),
]
_NAMES = [c for c, _ in SAVED_COLUMNS]


def records_for(ctx: RunContext, send_ids) -> dict[int, SalesforceRecord]:
    """The rows of ``send_ids`` in this org; a send seen for the first time in this org gets
    a row in memory, stored with its outcome."""
    records = {r.send_id: r for r in SalesforceRecord.objects.filter(org_id=ctx.org_id, send_id__in=list(send_ids))}
    for sid in send_ids:
        if sid not in records:
            records[sid] = SalesforceRecord(send_id=sid, portal=ctx.portal, org_id=ctx.org_id)
    return records


def stored_records(ctx: RunContext, send_ids) -> dict[int, SalesforceRecord]:
    """The rows of ``send_ids`` that exist in this org (the Bulk writer's result rows)."""
    return {r.send_id: r for r in SalesforceRecord.objects.filter(org_id=ctx.org_id, send_id__in=list(send_ids))}


def forget(ctx: RunContext, send_ids: list[int]) -> None:
    """Records deleted in Salesforce: forget the id and the match, so the sends are matched
    again and created."""
    SalesforceRecord.objects.filter(org_id=ctx.org_id, send_id__in=send_ids).update(
        record_id="", status=Status.PENDING, match_method="", contact_id="", lead_id=""
    )


def mark_unmatched(ctx: RunContext, r: SalesforceRecord) -> None:
    """A send no Contact or Lead matched: not written, listed on the health page with why."""
    r.status = Status.UNMATCHED
    if r.match_note == matching.CONVERTED_LEAD_NOTE:
        r.error_code, r.error_message = CONVERTED_LEAD_CODE, CONVERTED_LEAD_MESSAGE
    elif r.donor_id_invalid:
        r.error_code, r.error_message = INVALID_DONOR_ID_CODE, INVALID_DONOR_ID_MESSAGE
    else:
        r.error_code, r.error_message = NO_MATCH_CODE, NO_MATCH_MESSAGE
    r.error_fields = []
    ctx.run.unmatched += 1


def mark_blank_required(ctx: RunContext, r: SalesforceRecord, fields: list[str], mappings) -> None:
    """A send whose value for a required field is blank: not written (Salesforce would refuse
    it on every run), listed on the health page with the field and its source."""
    sources = {m.target_field.lower(): m.get_source_display() for m in mappings}
    named = [f"{f} (from {sources[f.lower()]})" if f.lower() in sources else f for f in fields]
    r.status = Status.FAILED
    r.error_code = values.BLANK_REQUIRED_CODE
    r.error_message = (f"Not sent: Salesforce requires {', '.join(named)}, and this send's value is blank. "
                       "Fill it in ThankView, or map another source to the field in Salesforce Settings.")
    r.error_fields = list(fields)
    r.value_note = ""
    ctx.run.failed += 1


def apply_outcomes(ctx: RunContext, records: dict, outcomes: dict, *, adopted=(), relink=None):
    """Store each written send's outcome on its record (in memory; ``store_batch`` saves) and
    count it on the run. Returns the first error that needs a banner (mapping or
    permissions), or None."""
    relink = relink or {}
    now = timezone.now()
    banner_error = None
    for sid, out in outcomes.items():
        r = records[sid]
        r.attempts += 1
        if out.ok:
            _store_success(ctx, r, out, adopted=sid in adopted, relink_to=relink.get(sid), now=now)
            continue
        err = _store_failure(ctx, r, out)
        if err.kind in (errors.MAPPING, errors.PERMISSIONS) and banner_error is None:
            banner_error = err
    return banner_error


def _store_success(ctx: RunContext, r: SalesforceRecord, out, *, adopted: bool, relink_to: str | None, now) -> None:
    run = ctx.run
    if out.created:
        run.created += 1
    elif adopted:
        run.adopted += 1
    else:
        run.updated += 1
    r.record_id = out.record_id or r.record_id
    r.status = Status.SYNCED
    r.last_synced_cutoff, r.synced_at = ctx.cutoff, now
    r.resync_requested_at = None
    r.attempt_marker, r.attempt_at = "", None
    r.error_code, r.error_message, r.error_fields = "", "", []
    if relink_to:
        r.contact_id, r.lookup_field = relink_to, ctx.lookup_field


def _store_failure(ctx: RunContext, r: SalesforceRecord, out) -> errors.SalesforceError:
    ctx.run.failed += 1
    code, message, fields = out.error or ("", "", [])
    r.status = Status.FAILED
    r.error_code, r.error_message, r.error_fields = code[:80], message, list(fields)
    r.attempt_marker, r.attempt_at = "", None  # Salesforce answered: the outcome is known
    if out.record_id == "" and r.record_id:  # the record was deleted and re-creating failed
        r.record_id = ""
    return errors.record_error(code, message, fields=fields)


def store_batch(ctx: RunContext, records) -> None:
    """One commit for a batch's rows and the run's counts so far."""
    with transaction.atomic():
        save_records(list(records))
        SyncRun.objects.filter(pk=ctx.run.pk).update(
            **{k: getattr(ctx.run, k) for k in RUN_COUNTS}, api_calls=ctx.client.api_calls
        )


def save_records(records: list[SalesforceRecord]) -> None:
    """Write rows: new rows in one INSERT, known rows in one UPDATE.

    Django's ``bulk_update`` builds a CASE expression per column and row, which costs about
    1.7 s of Python per 200 rows (measured, benchmarks/README.md); PostgreSQL's
    ``UPDATE ... FROM (VALUES ...)`` does the same in milliseconds.
    """
    now = timezone.now()
    for r in records:
        r.updated_at = now
    new = [r for r in records if r.pk is None]
    known = [r for r in records if r.pk is not None]
    if new:
        _insert(new)
    if known:
        _update(known)


def _values(r: SalesforceRecord) -> list:
    return [json.dumps(getattr(r, c)) if t == "jsonb" else getattr(r, c) for c, t in SAVED_COLUMNS]


_TEMPLATE = ", ".join(f"%s::{t}" for _, t in SAVED_COLUMNS)


def _insert(new: list[SalesforceRecord]) -> None:
    table = SalesforceRecord._meta.db_table
    # ON CONFLICT: support may have queued a re-sync of the same send meanwhile.
    sql = (
        f"INSERT INTO {table} (send_id, portal_id, org_id, created_at, {', '.join(_NAMES)}) VALUES %s "
        f"ON CONFLICT (send_id, org_id) DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in _NAMES)} "
        "RETURNING id, send_id"
    )
    rows = [(r.send_id, r.portal_id, r.org_id, r.created_at, *_values(r)) for r in new]
    with db_connection.cursor() as cur:
        returned = execute_values(
            cur.cursor, sql, rows, template=f"(%s, %s, %s, %s, {_TEMPLATE})", page_size=len(rows), fetch=True
        )
    pks = {send_id: pk for pk, send_id in returned}
    for r in new:
        r.pk = pks[r.send_id]
        r._state.adding = False


def _update(known: list[SalesforceRecord]) -> None:
    table = SalesforceRecord._meta.db_table
    sets = ", ".join(f"{c} = v.{c}" for c in _NAMES)
    sql = f"UPDATE {table} AS t SET {sets} FROM (VALUES %s) AS v(id, {', '.join(_NAMES)}) WHERE t.id = v.id"
    rows = [(r.pk, *_values(r)) for r in known]
    with db_connection.cursor() as cur:
        execute_values(cur.cursor, sql, rows, template=f"(%s::bigint, {_TEMPLATE})", page_size=len(rows))
