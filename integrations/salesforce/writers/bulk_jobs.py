"""Running the Bulk writer's jobs, and settling those earlier runs left behind.

``run_job(ctx, job)``:

1. records a ``BulkJob`` row, creates the job, uploads its CSV (streamed), closes it
   (UploadComplete);
2. polls with exponential backoff (``SALESFORCE_BULK_POLL_*``) until the job is final; a job
   that does not finish within ``SALESFORCE_BULK_JOB_TIMEOUT_SECONDS`` stops the run
   ("Unable to connect"): its sends stay due and ``settle_open_jobs`` waits for it next time;
3. streams ``successfulResults`` / ``failedResults`` to disk and stores the outcomes
   ``ROWS_PER_SAVE`` sends at a time through ``records.apply_outcomes``, so per-row failures
   land on the send exactly as in the Collections path; rows refused because the record was
   deleted in Salesforce are handed back to be created again;
4. counts the unprocessed rows of a job that did not complete, for the log (they get no
   outcome: those sends stay due), and raises the job's failure.
"""

from __future__ import annotations

import csv
import io
import logging
import tempfile
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from ...models import BulkJob, SalesforceRecord
from .. import dedupe, errors, records
from ..context import RunContext
from ..schema import OBJECT
from .base import WriteOutcome

log = logging.getLogger(__name__)

ROWS_PER_SAVE = 1000  # result rows stored per transaction
# Calls one job needs at least: create, upload, close, one poll, results.
JOB_CALLS = 5


@dataclass
class JobResults:
    banner: errors.SalesforceError | None = None  # the first refusal that needs a banner
    gone: list[int] = field(default_factory=list)  # sends whose record was deleted in Salesforce

    def add(self, banner, gone: list[int]) -> None:
        self.banner = self.banner or banner
        self.gone += gone


def run_job(ctx: RunContext, job) -> JobResults:
    """Steps 1–4 of the module docstring for one spooled job."""
    record_pk, job_id = _start(ctx, job)
    info = _poll(ctx, job_id)
    state = info.get("state")
    processed, failed = int(info.get("numberRecordsProcessed") or 0), int(info.get("numberRecordsFailed") or 0)
    BulkJob.objects.filter(pk=record_pk).update(
        state=state, processed=processed, failed=failed, error_message=info.get("errorMessage") or "",
        finished_at=timezone.now(),
    )
    results = JobResults()
    if processed - failed > 0:
        results.add(*_store_results(ctx, job, job_id, "successfulResults"))
    if failed:
        results.add(*_store_results(ctx, job, job_id, "failedResults"))
    if state != "JobComplete" and processed < job.rows:
        _log_unprocessed(ctx, job_id, state)
    BulkJob.objects.filter(pk=record_pk).update(settled=True)
    if state != "JobComplete":
        raise errors.bulk_job_error(info)
    return results


def _start(ctx: RunContext, job) -> tuple[int, str]:
    """Step 1; returns the BulkJob row's pk and Salesforce's job id."""
    record = BulkJob.objects.create(
        run=ctx.run, portal=ctx.portal, org_id=ctx.org_id, operation=job.operation, rows=job.rows
    )
    info = ctx.client.bulk_job_create(OBJECT, job.operation, external_id=job.external_id)
    job_id = info["id"]
    BulkJob.objects.filter(pk=record.pk).update(job_id=job_id, state=info.get("state", "Open"))
    ctx.client.bulk_job_upload(job_id, job.file)
    ctx.client.bulk_job_close(job_id)
    BulkJob.objects.filter(pk=record.pk).update(state="UploadComplete")
    return record.pk, job_id


def _poll(ctx: RunContext, job_id: str) -> dict:
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


def _log_unprocessed(ctx: RunContext, job_id: str, state: str) -> None:
    with tempfile.TemporaryFile() as f:
        ctx.client.bulk_job_results(job_id, "unprocessedrecords", f)
        f.seek(0)
        unprocessed = max(sum(1 for _ in f) - 1, 0)
    log.warning("Bulk job %s ended %s with %s unprocessed rows", job_id, state, unprocessed)


# --- results ----------------------------------------------------------------------------


class _Rows:
    """Cells of a results file by column name."""

    def __init__(self, header: list[str]):
        self.index = {name: i for i, name in enumerate(header)}

    def cell(self, row: list[str], name: str) -> str:
        i = self.index.get(name)
        return row[i] if i is not None and i < len(row) else ""


def _store_results(ctx: RunContext, job, job_id: str, kind: str) -> tuple:
    """Stream one results file and store its outcomes ROWS_PER_SAVE at a time."""
    results = JobResults()
    with tempfile.TemporaryFile() as f:
        ctx.client.bulk_job_results(job_id, kind, f)
        f.seek(0)
        text = io.TextIOWrapper(f, encoding="utf-8", newline="")
        reader = csv.reader(text)
        header = next(reader, None)
        if not header:
            return None, []
        rows = _Rows(header)
        chunk: list[list[str]] = []
        for row in reader:
            if not row:
                continue
            chunk.append(row)
            if len(chunk) >= ROWS_PER_SAVE:
                results.add(*_store_chunk(ctx, job, kind, rows, chunk))
                chunk = []
        if chunk:
            results.add(*_store_chunk(ctx, job, kind, rows, chunk))
        text.detach()
    return results.banner, results.gone


def _send_ids_for(ctx: RunContext, job, keys: list[str]) -> dict[str, int]:
    """Key column value → send id, for one chunk of result rows."""
    if job.operation == "insert":
        return {k: job.keymap[k] for k in keys if k in job.keymap}
    if job.operation == "upsert":
        found = {k: dedupe.send_id_from_key(k, ctx.conn.portal_id) for k in keys}
        return {k: sid for k, sid in found.items() if sid is not None}
    return dict(
        SalesforceRecord.objects.filter(org_id=ctx.org_id, record_id__in=keys).values_list("record_id", "send_id")
    )


def _row_outcome(job, kind: str, sid: int, row: list[str], rows: _Rows, lookups=()) -> WriteOutcome | None:
    """A result row's outcome; None when an update found the record deleted in Salesforce."""
    if kind == "successfulResults":
        created = job.operation == "insert" or (
            job.operation == "upsert" and rows.cell(row, "sf__Created").lower() == "true"
        )
        return WriteOutcome(sid, True, rows.cell(row, "sf__Id") or rows.cell(row, "Id"), created=created)
    error = errors.bulk_row_error(rows.cell(row, "sf__Error"))
    relinked = any(rows.cell(row, f) for f in lookups)
    if job.operation == "update" and errors.record_gone([error], relinked=relinked):
        return None
    return WriteOutcome(sid, False, rows.cell(row, "Id") if job.operation == "update" else "", error=error)


def _store_chunk(ctx: RunContext, job, kind: str, rows: _Rows, chunk: list[list[str]]) -> tuple:
    """Store one chunk's outcomes (one commit); returns (banner error, gone send ids)."""
    keyed = [("\x1f".join(rows.cell(r, c) for c in job.key), r) for r in chunk]
    send_of = _send_ids_for(ctx, job, [k for k, _ in keyed])
    outcomes, gone = {}, []
    for key, row in keyed:
        sid = send_of.get(key)
        if sid is None:
            log.warning("Bulk job result row with unknown key %r", key)
            continue
        outcome = _row_outcome(job, kind, sid, row, rows, lookups=(ctx.lookup_field, "Lead__c"))
        if outcome is None:
            gone.append(sid)  # deleted in Salesforce: create it again (as write_batch does)
        else:
            outcomes[sid] = outcome
    if not outcomes:
        return None, gone
    stored = records.stored_records(ctx, list(outcomes))
    outcomes = {sid: out for sid, out in outcomes.items() if sid in stored}
    adopted = {sid for sid, r in stored.items() if job.operation == "update" and dedupe.was_adopted(r)}
    banner = records.apply_outcomes(ctx, stored, outcomes, adopted=adopted)
    records.store_batch(ctx, stored.values())
    return banner, gone


# --- settling jobs of earlier runs ------------------------------------------------------


def settle_open_jobs(ctx: RunContext) -> None:
    """Finish what earlier runs left: abort Open jobs, wait for processing ones (bounded)."""
    pending = list(BulkJob.objects.filter(portal=ctx.portal, org_id=ctx.org_id, settled=False).exclude(run=ctx.run))
    for record in pending:
        state = _settle(ctx, record) if record.job_id else record.state
        BulkJob.objects.filter(pk=record.pk).update(state=state, settled=True, finished_at=timezone.now())


def _settle(ctx: RunContext, record: BulkJob) -> str:
    try:
        state = ctx.client.bulk_job_info(record.job_id).get("state", record.state)
    except errors.NotFound:
        state = "Deleted"
    if state == "Open":
        ctx.client.bulk_job_abort(record.job_id)
        return "Aborted"
    if state in ("UploadComplete", "InProgress"):
        return _poll(ctx, record.job_id).get("state", state)
    return state
