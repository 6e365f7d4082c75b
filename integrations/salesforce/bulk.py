"""Bulk API 2.0 writes for large runs (issue 6): a few API calls for any number of sends.

``bulk_run(ctx)`` is called by the sync run (``sync._run``) before its sObject Collections
loop. It:

1. Settles the jobs earlier runs of this portal left unsettled (worker killed, poll timed
   out): an Open job is aborted (nothing was processed); a job still processing is waited
   for. Only then may the natural-key recovery (``sync._adopt``) look for the records such a
   job created, so a send is never created twice. This happens on every run, whichever path
   it takes.
2. Counts the due sends (stopping at the threshold); with ``SALESFORCE_BULK_THRESHOLD`` or
   fewer it returns False and the run uses sObject Collections.
3. Matches the due sends ``MATCH_WINDOW`` at a time (``sync.matches_ahead``: a few SOQL
   queries sent through ``/composite``), then prepares them in batches of ``PREPARE_BATCH``
   through the same ``sync._sync_batch`` as the Collections path (states, converted Leads,
   natural-key recovery, field values), with a writer that *spools* each batch's records
   into CSV files on disk instead of writing them:
   - records with a Salesforce id → an ``update`` job keyed by ``Id``;
   - new records → an ``upsert`` job on ``Send_Id__c`` when that External ID exists, else an
     ``insert`` job, after an attempt marker is committed on each send (``mark_attempt``,
     as for Collections creates).
   Every row carries our own key column, ``Id`` / ``Send_Id__c`` / (insert) ``Url__c`` or the
   natural key: results are matched to sends by that key, never by row position. Memory
   stays flat: rows go to disk, only an insert job keeps a key → send map.
4. Runs each job: create, upload (streamed; a new job every ``MAX_JOB_BYTES``), UploadComplete,
   poll with exponential backoff (``SALESFORCE_BULK_POLL_*``), then streams
   ``successfulResults`` / ``failedResults`` (/ ``unprocessedrecords`` when the job did not
   complete) to disk and stores the outcomes ``ROWS_PER_SAVE`` sends at a time through
   ``sync.apply_outcomes``, so per-row failures land on the send exactly as in the
   Collections path. Unprocessed rows get no outcome: those sends stay due.
5. Records refused because they were deleted in Salesforce are created again through the
   Collections path (few), as ``write_batch`` does.

A job that does not finish within ``SALESFORCE_BULK_JOB_TIMEOUT_SECONDS`` stops the run
("Unable to connect"); its sends stay due and step 1 settles it next time.
"""

from __future__ import annotations

import csv
import io
import logging
import tempfile
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import BulkJob, SalesforceRecord, SyncRun
from . import errors
from .errors import SalesforceError
from .schema import OBJECT

log = logging.getLogger(__name__)

PREPARE_BATCH = 2000  # sends prepared per _sync_batch call
# Sends matched at once (sync.matches_ahead) before they are prepared PREPARE_BATCH at a time:
# one /composite call of five 2,000-value IN lists when every email finds its Contact
# (matching.py), so a first backfill of 100,000 sends matches in ~10 calls. Only the match
# inputs and answers of a window are held, not its sends.
MATCH_WINDOW = 10_000
ROWS_PER_SAVE = 1000  # result rows stored per transaction
# Salesforce takes up to 150 MB per job upload; simple-salesforce cuts at 100 MB (§2.9).
MAX_JOB_BYTES = 100 * 1024 * 1024
# Calls one job needs at least: create, upload, close, one poll, results.
JOB_CALLS = 5
NA = "#N/A"  # Bulk CSV: set the field to null (an empty cell leaves it unchanged)


def _sync():
    from . import sync  # sync imports this module lazily; keep the cycle one-way at import time

    return sync


# --- entry point ------------------------------------------------------------------------


def bulk_run(ctx) -> bool:
    """Settle earlier jobs; if more than the threshold is due, write it all with Bulk API 2.0
    and return True (the run's Collections loop is then skipped). See the module docstring."""
    settle_open_jobs(ctx)
    threshold = int(settings.SALESFORCE_BULK_THRESHOLD)
    sync = _sync()
    due = 0
    for ids in sync.due_send_ids(
        portal=ctx.conn.portal, org_id=ctx.org_id, cutoff=ctx.cutoff, enabled_at=ctx.conn.sync_enabled_at,
        batch_size=max(threshold + 1, 1),
    ):
        due += len(ids)
        break
    if due <= threshold:
        return False
    _bulk_sync(ctx)
    return True


def _bulk_sync(ctx) -> None:
    sync = _sync()
    spool = _Spool(ctx)
    try:
        for window in sync.due_send_ids(
            portal=ctx.conn.portal, org_id=ctx.org_id, cutoff=ctx.cutoff, enabled_at=ctx.conn.sync_enabled_at,
            batch_size=MATCH_WINDOW,
        ):
            sync._spend_check(ctx)
            matches = sync.matches_ahead(ctx, window)
            for start in range(0, len(window), PREPARE_BATCH):
                send_ids = window[start : start + PREPARE_BATCH]
                sync._spend_check(ctx)
                ctx.run.due += len(send_ids)
                sync._sync_batch(ctx, send_ids, writer=spool.add, matches=matches)
        spool.finish()
        banner = None
        gone: list[int] = []
        for job in spool.jobs:
            sync._spend_check(ctx, need=JOB_CALLS + 3)
            b, g = _run_job(ctx, job)
            banner = banner or b
            gone += g
        if spool.leftovers:
            _write_leftovers(ctx, spool.leftovers)
        if gone:
            _recreate(ctx, gone)
        if banner is not None:
            raise banner
    finally:
        spool.close()


# --- spooling ---------------------------------------------------------------------------


def _cell(value) -> str:
    """A JSON value of ``mapping.build_values`` as a Bulk CSV cell."""
    if value is None:
        return NA
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class _Job:
    operation: str  # insert | update | upsert
    columns: list[str]
    key: list[str]  # the key column(s) that identify a row's send
    external_id: str | None = None
    file: tempfile.SpooledTemporaryFile | None = None
    writer: csv.writer | None = None
    text: io.TextIOWrapper | None = None
    rows: int = 0
    bytes: int = 0
    keymap: dict[str, int] = field(default_factory=dict)  # insert only: key → send id
    record_id: int | None = None  # BulkJob row

    def open(self):
        self.file = tempfile.TemporaryFile(prefix="tv-bulk-")  # noqa: SIM115 (closed by _Spool.close)
        self.text = io.TextIOWrapper(self.file, encoding="utf-8", newline="")
        self.writer = csv.writer(self.text, lineterminator="\n")
        self.writer.writerow(self.columns)

    def key_of(self, row: dict) -> str:
        return "\x1f".join(row.get(c, "") for c in self.key)


class _Spool:
    """The writer ``sync._sync_batch`` calls for each prepared batch (``write_batch``'s
    signature): it appends rows to the jobs' CSV files and answers no outcome yet."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.jobs: list[_Job] = []
        self.leftovers: list = []  # insert items whose key repeats another's: Collections
        self._open: dict[str, _Job] = {}
        lookup = ctx.lookup_field
        mapped = [m.target_field for m in ctx.mappings]
        owned = [lookup, "Lead__c"]
        if ctx.schema.get("portal_id_present"):
            owned.append("Portal_Id__c")
        if ctx.schema.get("portal_name_present"):
            owned.append("Portal_Name__c")
        if ctx.external_id:
            owned.append(ctx.external_id)
        known = {k.lower() for k in ctx.field_types} if ctx.field_types else None
        cols, seen = [], set()
        for c in [*mapped, *owned]:
            if c.lower() in seen or (known is not None and c.lower() not in known):
                continue
            seen.add(c.lower())
            cols.append(c)
        self.columns = cols
        if "Url__c" in cols:
            self.insert_key = ["Url__c"]  # the send's own landing-page URL: unique per send
        else:  # the natural key of sync._adopt
            self.insert_key = [c for c in (lookup, "Lead__c", "Event_Name__c", "Sent_Date__c", "Portal_Id__c") if c in cols]

    def _job(self, operation: str) -> _Job:
        job = self._open.get(operation)
        if job is not None and job.bytes >= MAX_JOB_BYTES:
            self._close_file(job)
            job = None
        if job is None:
            if operation == "update":
                job = _Job("update", ["Id", *self.columns], key=["Id"])
            elif operation == "upsert":
                job = _Job("upsert", self.columns, key=[self.ctx.external_id], external_id=self.ctx.external_id)
            else:
                job = _Job("insert", self.columns, key=self.insert_key)
            job.open()
            self._open[operation] = job
            self.jobs.append(job)
        return job

    def _write(self, job: _Job, values: dict) -> dict:
        unknown = set(values) - set(job.columns)
        if unknown:
            raise ValueError(f"Bulk job has no column for {sorted(unknown)}")  # a bug, not data
        row = {c: _cell(values[c]) if c in values else "" for c in job.columns}
        job.writer.writerow([row[c] for c in job.columns])
        job.rows += 1
        job.bytes += sum(len(v) + 1 for v in row.values()) + 2  # approximate, for the 100 MB cut
        return row

    def add(self, client, items, *, external_id=None, before_create=None):
        sync = _sync()
        creates = []
        for item in items:
            if item.record_id:
                self._write(self._job("update"), {"Id": item.record_id, **item.values})
            else:
                creates.append(item)
        if creates and external_id:
            for item in creates:
                self._write(self._job("upsert"), item.values)
        elif creates:
            job = self._job("insert")
            spooled, leftovers = [], []
            for item in creates:
                row = {c: _cell(item.values[c]) if c in item.values else "" for c in job.columns}
                key = job.key_of(row)
                if not key.strip("\x1f") or key in job.keymap:
                    leftovers.append(item)  # no usable key, or not unique: write it by Collections
                else:
                    job.keymap[key] = item.send_id
                    spooled.append(item)
            if before_create and spooled:
                before_create(spooled)  # attempt markers committed before the job exists
            for item in spooled:
                self._write(job, item.values)
            self.leftovers += leftovers
        return sync.BatchResult()

    def _close_file(self, job: _Job):
        job.text.flush()
        job.text.detach()  # keep job.file open (binary) for the upload
        job.text = job.writer = None
        self._open = {k: v for k, v in self._open.items() if v is not job}

    def finish(self):
        for job in list(self._open.values()):
            self._close_file(job)

    def close(self):
        for job in self.jobs:
            if job.text is not None:
                job.text.detach()
            if job.file is not None:
                job.file.close()


# --- running a job ----------------------------------------------------------------------


def _poll(ctx, job_id: str) -> dict:
    """Poll until the job is final, with exponential backoff; Unavailable on timeout."""
    wait = float(settings.SALESFORCE_BULK_POLL_INITIAL_SECONDS)
    cap = float(settings.SALESFORCE_BULK_POLL_MAX_SECONDS)
    deadline = time.monotonic() + float(settings.SALESFORCE_BULK_JOB_TIMEOUT_SECONDS)
    while True:
        time.sleep(min(wait, max(0.0, deadline - time.monotonic())))
        info = ctx.client.bulk_job_info(job_id)
        if info.get("state") in BulkJob.FINAL_STATES:
            return info
        if time.monotonic() >= deadline:
            raise errors.Unavailable(
                f"Salesforce was still processing Bulk API job {job_id} after "
                f"{settings.SALESFORCE_BULK_JOB_TIMEOUT_SECONDS:.0f} s; its sends stay due and the next run "
                "waits for the job first.",
                code="BULK_JOB_TIMEOUT",
            )
        wait = min(wait * 2, cap)


def parse_error(cell: str) -> tuple[str, str, list[str]]:
    """``sf__Error`` → (code, message, fields). ``CODE:message:F1,F2 --`` or ``CODE:message:--``
    (reference §2.9; the message itself may contain colons)."""
    text = (cell or "").strip()
    fields: list[str] = []
    if text.endswith(":--"):
        body = text[:-3]
    elif text.endswith(" --") and ":" in text:
        body, _, tail = text[:-3].rpartition(":")
        fields = [f.strip() for f in tail.split(",") if f.strip()]
    else:
        body = text
    code, _, message = body.partition(":")
    return code.strip(), message.strip(), fields


def _job_failure(info: dict) -> SalesforceError:
    message = info.get("errorMessage") or f"Bulk API job {info.get('id')} ended in state {info.get('state')}."
    if "Field name not found" in message or ("InvalidBatch" in message and "field" in message.lower()):
        return errors.error_for("INVALID_FIELD", message)
    return SalesforceError(message, code=f"BULK_JOB_{str(info.get('state') or 'FAILED').upper()}")


def _run_job(ctx, job: _Job):
    """Create, upload, close, poll, store the results. Returns (banner error or None, send
    ids whose record was deleted in Salesforce)."""
    client, run = ctx.client, ctx.run
    record = BulkJob.objects.create(
        run=run, portal=ctx.conn.portal, org_id=ctx.org_id, operation=job.operation, rows=job.rows
    )
    job.record_id = record.pk
    info = client.bulk_job_create(OBJECT, job.operation, external_id=job.external_id)
    job_id = info["id"]
    BulkJob.objects.filter(pk=record.pk).update(job_id=job_id, state=info.get("state", "Open"))
    client.bulk_job_upload(job_id, job.file)
    client.bulk_job_close(job_id)
    BulkJob.objects.filter(pk=record.pk).update(state="UploadComplete")
    info = _poll(ctx, job_id)
    state = info.get("state")
    processed, failed = int(info.get("numberRecordsProcessed") or 0), int(info.get("numberRecordsFailed") or 0)
    BulkJob.objects.filter(pk=record.pk).update(
        state=state, processed=processed, failed=failed, error_message=info.get("errorMessage") or "",
        finished_at=timezone.now(),
    )
    banner, gone = None, []
    if processed - failed > 0:
        b, g = _store_results(ctx, job, job_id, "successfulResults")
        banner, gone = banner or b, gone + g
    if failed:
        b, g = _store_results(ctx, job, job_id, "failedResults")
        banner, gone = banner or b, gone + g
    if state != "JobComplete" and processed < job.rows:
        # Unprocessed rows get no outcome (their sends stay due); read them for the log.
        with tempfile.TemporaryFile() as f:
            client.bulk_job_results(job_id, "unprocessedrecords", f)
            f.seek(0)
            unprocessed = max(sum(1 for _ in f) - 1, 0)
        log.warning("Bulk job %s ended %s with %s unprocessed rows", job_id, state, unprocessed)
    BulkJob.objects.filter(pk=record.pk).update(settled=True)
    if state != "JobComplete":
        raise _job_failure(info)
    return banner, gone


def _store_results(ctx, job: _Job, job_id: str, kind: str):
    """Stream one results file and store its outcomes ROWS_PER_SAVE at a time."""
    sync = _sync()
    banner, gone = None, []
    with tempfile.TemporaryFile() as f:
        ctx.client.bulk_job_results(job_id, kind, f)
        f.seek(0)
        text = io.TextIOWrapper(f, encoding="utf-8", newline="")
        reader = csv.reader(text)
        header = next(reader, None)
        if not header:
            return None, []
        index = {name: i for i, name in enumerate(header)}
        chunk: list[list[str]] = []
        for row in reader:
            if not row:
                continue
            chunk.append(row)
            if len(chunk) >= ROWS_PER_SAVE:
                b, g = _store_chunk(ctx, job, kind, index, chunk, sync)
                banner, gone = banner or b, gone + g
                chunk = []
        if chunk:
            b, g = _store_chunk(ctx, job, kind, index, chunk, sync)
            banner, gone = banner or b, gone + g
        text.detach()
    return banner, gone


def _send_ids_for(ctx, job: _Job, keys: list[str]) -> dict[str, int]:
    """Key column value → send id, for one chunk of result rows."""
    if job.operation == "insert":
        return {k: job.keymap[k] for k in keys if k in job.keymap}
    if job.operation == "upsert":
        prefix = f"tv-{ctx.conn.portal_id}-"
        out = {}
        for k in keys:
            if k.startswith(prefix) and k[len(prefix):].isdigit():
                out[k] = int(k[len(prefix):])
        return out
    rows = SalesforceRecord.objects.filter(org_id=ctx.org_id, record_id__in=keys).values_list("record_id", "send_id")
    return dict(rows)


def _store_chunk(ctx, job: _Job, kind: str, index: dict, rows: list[list[str]], sync):
    def cell(row, name):
        i = index.get(name)
        return row[i] if i is not None and i < len(row) else ""

    keyed = [("\x1f".join(cell(r, c) for c in job.key), r) for r in rows]
    send_of = _send_ids_for(ctx, job, [k for k, _ in keyed])
    outcomes, gone = {}, []
    for key, row in keyed:
        sid = send_of.get(key)
        if sid is None:
            log.warning("Bulk job result row with unknown key %r", key)
            continue
        if kind == "successfulResults":
            created = job.operation == "insert" or (job.operation == "upsert" and cell(row, "sf__Created").lower() == "true")
            outcomes[sid] = sync.WriteOutcome(sid, True, cell(row, "sf__Id") or cell(row, "Id"), created=created)
        else:
            code, message, fields = parse_error(cell(row, "sf__Error"))
            if job.operation == "update" and code in sync.RECORD_GONE_CODES and not any(f and f != "Id" for f in fields):
                gone.append(sid)  # deleted in Salesforce: create it again (as write_batch does)
                continue
            outcomes[sid] = sync.WriteOutcome(sid, False, "" if job.operation != "update" else cell(row, "Id"),
                                              error=(code, message, fields))
    if not outcomes:
        return None, gone
    records = {r.send_id: r for r in SalesforceRecord.objects.filter(org_id=ctx.org_id, send_id__in=list(outcomes))}
    outcomes = {sid: out for sid, out in outcomes.items() if sid in records}
    # An attempt marker next to a record id: sync._adopt found the record an earlier create
    # with an unknown outcome left behind, and this job updated it.
    adopted = {sid for sid, r in records.items() if r.attempt_marker and r.record_id and job.operation == "update"}
    banner = sync.apply_outcomes(ctx, records, outcomes, adopted=adopted)
    with transaction.atomic():
        sync._save_records(list(records.values()))
        SyncRun.objects.filter(pk=ctx.run.pk).update(**sync._counts(ctx.run), api_calls=ctx.client.api_calls)
    return banner, gone


# --- the few that go through Collections ------------------------------------------------


def _write_leftovers(ctx, items) -> None:
    """Insert items whose key was not unique in the job: Collections creates, after markers."""
    sync = _sync()

    def mark(chunk):
        SalesforceRecord.objects.filter(org_id=ctx.org_id, send_id__in=[i.send_id for i in chunk]).update(
            attempt_marker=str(uuid.uuid4()), attempt_at=timezone.now()
        )

    for start in range(0, len(items), sync.BATCH_SIZE):
        chunk = items[start : start + sync.BATCH_SIZE]
        result = sync.write_batch(ctx.client, chunk, external_id=None, before_create=mark)
        records = {r.send_id: r for r in SalesforceRecord.objects.filter(org_id=ctx.org_id, send_id__in=[i.send_id for i in chunk])}
        banner = sync.apply_outcomes(ctx, records, {k: v for k, v in result.outcomes.items() if k in records})
        with transaction.atomic():
            sync._save_records(list(records.values()))
            SyncRun.objects.filter(pk=ctx.run.pk).update(**sync._counts(ctx.run), api_calls=ctx.client.api_calls)
        if result.error is not None:
            raise result.error
        if banner is not None:
            raise banner


def _recreate(ctx, send_ids: list[int]) -> None:
    """Records deleted in Salesforce: forget the id and run the sends through Collections
    (matched again, then created)."""
    sync = _sync()
    SalesforceRecord.objects.filter(org_id=ctx.org_id, send_id__in=send_ids).update(
        record_id="", status=SalesforceRecord.Status.PENDING, match_method="", contact_id="", lead_id=""
    )
    for start in range(0, len(send_ids), sync.BATCH_SIZE):
        sync._spend_check(ctx)
        sync._sync_batch(ctx, send_ids[start : start + sync.BATCH_SIZE])


# --- settling jobs of earlier runs ------------------------------------------------------


def settle_open_jobs(ctx) -> None:
    """Finish what earlier runs left: abort Open jobs, wait for processing ones (bounded)."""
    pending = list(
        BulkJob.objects.filter(portal=ctx.conn.portal, org_id=ctx.org_id, settled=False).exclude(run=ctx.run)
    )
    for record in pending:
        state = record.state
        if record.job_id:
            try:
                info = ctx.client.bulk_job_info(record.job_id)
            except errors.NotFound:
                info = {"state": "Deleted"}
            state = info.get("state", state)
            if state == "Open":
                ctx.client.bulk_job_abort(record.job_id)
                state = "Aborted"
            elif state in ("UploadComplete", "InProgress"):
                state = _poll(ctx, record.job_id).get("state", state)
        BulkJob.objects.filter(pk=record.pk).update(state=state, settled=True, finished_at=timezone.now())
