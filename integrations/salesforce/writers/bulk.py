"""The Bulk API 2.0 writer, for large runs: a few API calls for any number of sends.

``BulkWriter.for_run(ctx)`` is asked by every run before it writes anything. It:

1. Settles the jobs earlier runs of this portal left unsettled (``bulk_jobs.settle_open_jobs``:
   worker killed, poll timed out). Only then may the natural-key adoption (``dedupe.adopt``)
   look for the records such a job created, so a send is never created twice. This happens
   on every run, whichever writer it takes.
2. Counts the due sends (stopping at the threshold); with ``SALESFORCE_BULK_THRESHOLD`` or
   fewer it answers None and the run uses sObject Collections.

Driven by the run like any writer (``writers/base.py``), it reads the due sends
``MATCH_WINDOW`` at a time, matched ahead (``batch.matches_ahead``: a few SOQL queries sent
through ``/composite``), and gets them prepared ``PREPARE_BATCH`` at a time by the same
``batch.batch_write`` as the Collections path (states, converted Leads, adoption, field
values). ``write`` *spools* each batch's records into CSV files on disk instead of writing
them:

- records with a Salesforce id → an ``update`` job keyed by ``Id``;
- new records → an ``upsert`` job on ``Send_Id__c`` when that External ID exists, else an
  ``insert`` job, after an attempt marker is committed on each send (as for Collections).

Every row carries our own key column, ``Id`` / ``Send_Id__c`` / (insert) ``Url__c`` or the
natural key: results are matched to sends by that key, never by row position. Memory stays
flat: rows go to disk, only an insert job keeps a key → send map.

``finish`` runs each job (``bulk_jobs.run_job``) and stores its results as they stream in,
then writes through Collections the few inserts whose key was not unique, and creates again
(matched anew) the records Salesforce says were deleted, as ``write_batch`` does.
"""

from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass, field

from django.conf import settings

from .. import dedupe, due, records
from ..batch import batch_write, owned_fields
from ..client import chunks
from ..context import RunContext
from ..schema import read_only
from .base import Batch, BatchResult, Writer
from .bulk_jobs import JOB_CALLS, run_job, settle_open_jobs
from .collections import CollectionsWriter, write_batch

PREPARE_BATCH = 2000  # sends prepared per batch_write call
# Sends matched at once (batch.matches_ahead) before they are prepared PREPARE_BATCH at a time:
# one /composite call of five 2,000-value IN lists when every email finds its Contact
# (matching.py), so a first backfill of 100,000 sends matches in ~10 calls. Only the match
# inputs and answers of a window are held, not its sends.
MATCH_WINDOW = 10_000
# Salesforce takes up to 150 MB per job upload; simple-salesforce cuts at 100 MB (§2.9).
MAX_JOB_BYTES = 100 * 1024 * 1024
# Bulk CSV: "Empty field values are ignored when you update records. To set a field value to
# null, use a field value of #N/A" (Bulk API 2.0 Developer Guide, "Valid CSV Record Rows").
# So a blank value is #N/A, never an empty cell: the record ends as Collections writes it.
NA = "#N/A"


class BulkWriter(Writer):
    match_ahead = True

    @classmethod
    def for_run(cls, ctx: RunContext) -> BulkWriter | None:
        """Steps 1–2 of the module docstring: a writer when the run is large, else None."""
        settle_open_jobs(ctx)
        large = due.due_count_exceeds(
            portal=ctx.portal, org_id=ctx.org_id, cutoff=ctx.cutoff, enabled_at=ctx.conn.sync_enabled_at,
            threshold=int(settings.SALESFORCE_BULK_THRESHOLD),
        )
        return cls(ctx) if large else None

    def __init__(self, ctx: RunContext):
        self.spool = _Spool(ctx)

    @property
    def window(self) -> int:
        return MATCH_WINDOW

    @property
    def batch_size(self) -> int:
        return PREPARE_BATCH

    def write(self, ctx: RunContext, batch: Batch) -> BatchResult:
        """Spool the batch; no outcome yet (the sends stay due until the results are stored)."""
        self.spool.add(batch)
        return BatchResult()

    def finish(self, ctx: RunContext) -> None:
        self.spool.finish()
        banner = None
        gone: list[int] = []
        for job in self.spool.jobs:
            ctx.spend_check(JOB_CALLS + 3)
            results = run_job(ctx, job)
            banner = banner or results.banner
            gone += results.gone
        if self.spool.leftovers:
            _write_leftovers(ctx, self.spool.leftovers)
        if gone:
            _recreate(ctx, gone)
        if banner is not None:
            raise banner

    def close(self) -> None:
        self.spool.close()


# --- spooling ---------------------------------------------------------------------------


def _cell(value) -> str:
    """A JSON value of ``mapping.build_values`` as a Bulk CSV cell (blank → ``#N/A``)."""
    if value is None or value == "":
        return NA
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class SpooledJob:
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

    def open(self):
        self.file = tempfile.TemporaryFile(prefix="tv-bulk-")  # noqa: SIM115 (closed by _Spool.close)
        self.text = io.TextIOWrapper(self.file, encoding="utf-8", newline="")
        self.writer = csv.writer(self.text, lineterminator="\n")
        self.writer.writerow(self.columns)

    def row_bytes(self, row: dict) -> int:
        """The row's size in the upload: UTF-8 bytes, not characters (Salesforce's limit is in
        bytes, "Bulk API and Bulk API 2.0 Limits and Allocations"), with its commas, line end
        and the quotes csv adds around a cell that needs them."""
        size = len(self.columns)  # commas and the line end
        for value in row.values():
            size += len(value.encode("utf-8"))
            if any(ch in value for ch in ',"\n\r'):
                size += 2 + value.count('"')
        return size

    def row_of(self, values: dict) -> dict:
        return {c: _cell(values[c]) if c in values else "" for c in self.columns}

    def key_of(self, row: dict) -> str:
        return "\x1f".join(row.get(c, "") for c in self.key)


def _read_only_fields(ctx: RunContext) -> set[str]:
    """Lower-cased names of the fields the user may not both create and update: never a
    column (Salesforce refuses a row that names one, even empty)."""
    return {name for name, info in ctx.field_infos.items() if read_only(info)}


def _columns(ctx: RunContext) -> list[str]:
    """The mapped fields and the sync's own, once each, and only those describe knows and
    the user may write."""
    known = {k.lower() for k in ctx.field_types} if ctx.field_types else None
    skip = _read_only_fields(ctx)
    cols, seen = [], set()
    for c in [*(m.target_field for m in ctx.mappings), *owned_fields(ctx)]:
        if c.lower() in seen or c.lower() in skip or (known is not None and c.lower() not in known):
            continue
        seen.add(c.lower())
        cols.append(c)
    return cols


class _Spool:
    """The CSV files of a run's jobs: ``add`` appends each prepared batch's rows."""

    def __init__(self, ctx: RunContext):
        self.ctx = ctx
        self.jobs: list[SpooledJob] = []
        self.leftovers: list = []  # insert items whose key repeats another's: Collections
        self._open: dict[str, SpooledJob] = {}
        self.columns = _columns(ctx)
        self.read_only = _read_only_fields(ctx)
        if "Url__c" in self.columns:
            self.insert_key = ["Url__c"]  # the send's own landing-page URL: unique per send
        else:
            self.insert_key = [c for c in dedupe.natural_key_fields(ctx.lookup_field) if c in self.columns]

    def _job(self, operation: str) -> SpooledJob:
        job = self._open.get(operation)
        if job is not None and job.bytes >= MAX_JOB_BYTES:
            self._close_file(job)
            job = None
        if job is None:
            job = self._new_job(operation)
            job.open()
            self._open[operation] = job
            self.jobs.append(job)
        return job

    def _new_job(self, operation: str) -> SpooledJob:
        if operation == "update":
            return SpooledJob("update", ["Id", *self.columns], key=["Id"])
        if operation == "upsert":
            return SpooledJob("upsert", self.columns, key=[self.ctx.external_id], external_id=self.ctx.external_id)
        return SpooledJob("insert", self.columns, key=self.insert_key)

    def _write(self, job: SpooledJob, values: dict) -> None:
        values = {k: v for k, v in values.items() if k in job.columns or k.lower() not in self.read_only}
        unknown = set(values) - set(job.columns)
        if unknown:
            raise ValueError(f"Bulk job has no column for {sorted(unknown)}")  # a bug, not data
        row = job.row_of(values)
        job.writer.writerow([row[c] for c in job.columns])
        job.rows += 1
        job.bytes += job.row_bytes(row)

    def add(self, batch: Batch) -> None:
        creates = []
        for item in batch.items:
            if item.record_id:
                self._write(self._job("update"), {"Id": item.record_id, **item.values})
            else:
                creates.append(item)
        if creates and self.ctx.external_id:
            for item in creates:
                self._write(self._job("upsert"), item.values)
        elif creates:
            self._add_inserts(creates, batch)

    def _add_inserts(self, creates: list, batch: Batch) -> None:
        """Inserts are keyed by a unique column; an item without a usable or unique key is
        left for Collections. Attempt markers are committed before the job exists."""
        job = self._job("insert")
        spooled = []
        for item in creates:
            key = job.key_of(job.row_of(item.values))
            if not key.strip("\x1f") or key in job.keymap:
                self.leftovers.append(item)
            else:
                job.keymap[key] = item.send_id
                spooled.append(item)
        if spooled:
            batch.mark_attempts(spooled)
        for item in spooled:
            self._write(job, item.values)

    def _close_file(self, job: SpooledJob):
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


# --- the few that go through Collections ------------------------------------------------


def _write_leftovers(ctx: RunContext, items) -> None:
    """Insert items whose key was not unique in the job: Collections creates, after markers."""
    for chunk in chunks(items, due.BATCH_SIZE):
        result = write_batch(
            ctx.client, chunk, external_id=None,
            before_create=lambda part: dedupe.mark_attempts_of(ctx, [i.send_id for i in part]),
        )
        rows = records.stored_records(ctx, [i.send_id for i in chunk])
        banner = records.apply_outcomes(ctx, rows, {k: v for k, v in result.outcomes.items() if k in rows})
        records.store_batch(ctx, rows.values())
        if result.error is not None:
            raise result.error
        if banner is not None:
            raise banner


def _recreate(ctx: RunContext, send_ids: list[int]) -> None:
    """Records deleted in Salesforce: forget the id and run the sends through Collections
    (matched again, then created)."""
    records.forget(ctx, send_ids)
    for part in chunks(send_ids, due.BATCH_SIZE):
        ctx.spend_check()
        batch_write(ctx, part, writer=CollectionsWriter())
