"""Bulk API 2.0 ingest jobs (reference §2.9).

1. ``POST jobs/ingest`` creates an Open job; 2. ``PUT jobs/ingest/{id}/batches`` uploads CSV
(201, empty body); 3. ``PATCH jobs/ingest/{id}`` ``{"state":"UploadComplete"}`` closes it and
a background thread processes it after ``bulk_delay_ms``: UploadComplete → InProgress →
JobComplete (or Failed); clients poll ``GET jobs/ingest/{id}``; 4. results as CSV:
``successfulResults/`` (``"sf__Id","sf__Created",<cols>``), ``failedResults/``
(``"sf__Id","sf__Error",<cols>``), ``unprocessedrecords/`` (also ``unprocessedRecords/``, the
spelling simple-salesforce uses). Every one of these HTTP calls counts as an API call.

Rows go through the same ``Org`` DML as REST writes, in chunks that each hold the org lock
briefly, so REST calls keep being served while a 100,000-row job runs.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, DmlError
from .faults import record_fault
from .org import Org
from .schema import SObjectType, now_sf
from .web import Request, Response, json_response

OPERATIONS = {"insert", "update", "upsert", "delete", "hardDelete"}
DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
CHUNK = 1000  # rows per lock acquisition


@dataclass
class Job:
    id: str
    operation: str
    object: str
    external_id_field: str | None
    api_version: str
    line_ending: str
    column_delimiter: str
    created_by: str
    created_date: str = field(default_factory=now_sf)
    system_modstamp: str = ""
    state: str = "Open"
    header: list[str] | None = None
    rows: list[list[str]] = field(default_factory=list)
    saw_crlf: bool = False
    processed: int = 0
    failed: int = 0
    error_message: str | None = None
    started: float = 0.0
    finished: float = 0.0
    successes: list[tuple[str, bool, list[str]]] = field(default_factory=list)
    failures: list[tuple[str, str, list[str]]] = field(default_factory=list)
    locked: bool = False
    denied: bool = False

    def touch(self) -> None:
        self.system_modstamp = now_sf()

    def info(self, *, full: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": self.created_date,
            "systemModstamp": self.system_modstamp or self.created_date,
            "state": self.state,
        }
        if self.external_id_field:
            out["externalIdFieldName"] = self.external_id_field
        out.update({
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.api_version),
            "jobType": "V2Ingest",
        })
        if not full:
            out.update({"contentUrl": f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches",
                        "lineEnding": self.line_ending, "columnDelimiter": self.column_delimiter})
            return out
        elapsed = int(((self.finished or time.time()) - self.started) * 1000) if self.started else 0
        out.update({
            "lineEnding": self.line_ending,
            "columnDelimiter": self.column_delimiter,
            "numberRecordsProcessed": self.processed,
            "numberRecordsFailed": self.failed,
            "retries": 0,
            "totalProcessingTime": elapsed,
            "apiActiveProcessingTime": elapsed,
            "apexProcessingTime": 0,
        })
        if self.error_message:
            out["errorMessage"] = self.error_message
        return out


def _job(org: Org, job_id: str) -> Job:
    job = org.jobs.get(job_id[:15]) if job_id else None
    if job is None:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    return job


def _job_state_error(job: Job, action: str) -> ApiError:
    return ApiError(409, "INVALIDJOBSTATE", f"Unable to {action}: job {job.id} is in state {job.state}")


# --- handlers -------------------------------------------------------------------------------


def create_job(org: Org, req: Request, ctx, m: dict) -> Response:
    body = req.json_object()
    operation = body.get("operation")
    if operation not in OPERATIONS:
        raise ApiError(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
    obj = org.sobject(str(body.get("object") or ""))
    if obj is None:
        raise ApiError(400, "INVALIDENTITY", f"InvalidEntity : Entity '{body.get('object')}' is not supported by the Bulk API.")
    if (body.get("contentType") or "CSV") != "CSV":
        raise ApiError(400, "INVALIDJOB", f"InvalidJob : Unsupported content type: {body.get('contentType')}")
    line_ending = body.get("lineEnding") or "LF"
    delimiter = body.get("columnDelimiter") or "COMMA"
    if line_ending not in LINE_ENDINGS or delimiter not in DELIMITERS:
        raise ApiError(400, "INVALIDJOB", "InvalidJob : Invalid lineEnding or columnDelimiter")
    ext = body.get("externalIdFieldName")
    if operation == "upsert":
        if not ext:
            raise ApiError(400, "INVALIDJOB", f"InvalidJob : External ID was blank for {obj.name}. An External ID must be specified for upsert.")
        f = obj.field(ext)
        if f is None or not (f.external_id or f.type == "id"):
            raise ApiError(400, "INVALIDJOB", f"InvalidJob : Field name provided, {ext} is not an External ID or indexed field for {obj.name}")
        ext = f.name
    else:
        ext = None
    job = Job(org.ids.new("750"), operation, obj.name, ext, ctx.version, line_ending, delimiter, org.user_id)
    org.jobs[job.id[:15]] = job
    return json_response(200, job.info(full=False))


def list_jobs(org: Org, req: Request, ctx, m: dict) -> Response:
    return json_response(200, {"done": True, "records": [j.info(full=False) for j in org.jobs.values()], "nextRecordsUrl": None})


def get_job(org: Org, req: Request, ctx, m: dict) -> Response:
    return json_response(200, _job(org, m["job"]).info())


def upload(org: Org, req: Request, ctx, m: dict) -> Response:
    """``PUT .../batches`` with the CSV: exactly 201 and an empty body (simple-salesforce
    raises on anything else, §2.9)."""
    job = _job(org, m["job"])
    if job.state != "Open":
        raise _job_state_error(job, "upload data")
    if len(req.body) > org.config["bulk_max_upload_bytes"]:
        # "Bulk API and Bulk API 2.0 Limits and Allocations": an upload holds at most 150 MB,
        # counted in bytes ("Prepare CSV Files": UTF-8, base64-encoded on receipt, so keep
        # the data under 100 MB). The refusal's shape is not documented; this one is ours.
        raise ApiError(400, "INVALIDBATCH", f"InvalidBatch : The upload is {len(req.body)} bytes; "
                                            f"the limit is {org.config['bulk_max_upload_bytes']} bytes")
    text = req.text()
    if not text.strip():
        raise ApiError(400, "INVALIDBATCH", "InvalidBatch : Records not found")
    # The header line shows which line ending the client really used.
    header_end = text.find("\n")
    job.saw_crlf = job.saw_crlf or (header_end > 0 and text[header_end - 1] == "\r")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITERS[job.column_delimiter])
    header = next(reader)
    if job.header is None:
        job.header = header
    elif header != job.header:
        raise ApiError(400, "INVALIDBATCH", "InvalidBatch : The header row of every upload must be the same")
    job.rows.extend(row for row in reader if row)
    job.touch()
    return Response(201)


def patch_job(org: Org, req: Request, ctx, m: dict) -> Response:
    job = _job(org, m["job"])
    state = req.json_object().get("state")
    if state == "UploadComplete":
        if job.state != "Open":
            raise _job_state_error(job, "close the job")
        job.state = "UploadComplete"
        # Per-record faults are those of the call that closed the job.
        obj = org.sobject(job.object)
        job.locked = ctx.locked()
        job.denied = obj is not None and ctx.denied(obj)
        job.touch()
        delay = org.config["bulk_delay_ms"] / 1000.0
        threading.Thread(target=process, args=(org, job, delay), name=f"sfsim-bulk-{job.id}", daemon=True).start()
    elif state == "Aborted":
        if job.state not in ("Open", "UploadComplete", "InProgress"):
            raise _job_state_error(job, "abort the job")
        job.state = "Aborted"
        job.touch()
    else:
        raise ApiError(400, "INVALIDJOBSTATE", f"Invalid state: {state}")
    return json_response(200, job.info(full=False))


def delete_job(org: Org, req: Request, ctx, m: dict) -> Response:
    job = _job(org, m["job"])
    if job.state in ("Open", "InProgress"):
        raise _job_state_error(job, "delete the job")
    del org.jobs[job.id[:15]]
    return Response(204)


def _quote(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"'


def results(org: Org, req: Request, ctx, m: dict) -> Response:
    job = _job(org, m["job"])
    le, dl = LINE_ENDINGS[job.line_ending], DELIMITERS[job.column_delimiter]
    header = job.header or []
    original = dl.join(_quote(c) if (dl in c or '"' in c) else c for c in header)
    kind = m["kind"]
    lines = []
    if kind == "successfulResults":
        lines.append(dl.join(['"sf__Id"', '"sf__Created"']) + (dl + original if header else ""))
        lines += [dl.join([_quote(i), _quote("true" if created else "false"), *map(_quote, row)]) for i, created, row in job.successes]
    elif kind == "failedResults":
        lines.append(dl.join(['"sf__Id"', '"sf__Error"']) + (dl + original if header else ""))
        lines += [dl.join([_quote(i), _quote(err), *map(_quote, row)]) for i, err, row in job.failures]
    else:
        done = job.processed
        lines.append(original)
        lines += [dl.join(map(_quote, row)) for row in job.rows[done:]] if job.state in ("Aborted", "Failed") else []
    body = le.join(lines) + le
    return Response(200, body.encode(), {"Content-Type": "text/csv"})


ROUTES = [
    ("POST", r"jobs/ingest", create_job, "bulk"),
    ("GET", r"jobs/ingest", list_jobs, "bulk"),
    ("GET", r"jobs/ingest/(?P<job>\w+)", get_job, "bulk"),
    ("PATCH", r"jobs/ingest/(?P<job>\w+)", patch_job, "bulk"),
    ("DELETE", r"jobs/ingest/(?P<job>\w+)", delete_job, "bulk"),
    ("PUT", r"jobs/ingest/(?P<job>\w+)/batches", upload, "bulk"),
    ("GET", r"jobs/ingest/(?P<job>\w+)/(?P<kind>successfulResults|failedResults|unprocessedrecords|unprocessedRecords)", results, "bulk"),
]


# --- processing -------------------------------------------------------------------------------


def process(org: Org, job: Job, delay: float) -> None:
    """Run a closed job in the background (UploadComplete → InProgress → JobComplete)."""
    time.sleep(delay)
    with org.lock:
        if job.state != "UploadComplete":
            return
        job.state = "InProgress"
        job.started = time.time()
        job.touch()
        obj = org.sobject(job.object)
        problem = _job_problem(job, obj)
        if problem:
            job.state, job.error_message = "Failed", problem
            job.finished = time.time()
            job.touch()
            return
        columns = [obj.field(name).name for name in job.header or []]
    time.sleep(delay)
    for start in range(0, len(job.rows), CHUNK):
        with org.lock:
            if job.state != "InProgress":
                return
            for row in job.rows[start : start + CHUNK]:
                _process_row(org, job, obj, columns, row)
                job.processed += 1
    with org.lock:
        if job.state == "InProgress":
            job.state = "JobComplete"
            job.finished = time.time()
            job.touch()


def _job_problem(job: Job, obj: SObjectType | None) -> str | None:
    """Whole-job failures Salesforce reports in ``errorMessage`` (state Failed)."""
    if obj is None:
        return f"InvalidBatch : Entity '{job.object}' is not supported by the Bulk API."
    if (job.line_ending == "LF") == job.saw_crlf and job.rows:
        return f"ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is {job.line_ending}"
    for name in job.header or []:
        if obj.field(name) is None:
            return f"InvalidBatch : Field name not found : {name}"
    if job.operation in ("update", "delete", "hardDelete") and not any(h.lower() == "id" for h in job.header or []):
        return "InvalidBatch : Id field is required for update and delete operations"
    if job.operation == "upsert" and job.external_id_field not in [obj.field(h).name for h in job.header or []]:
        return f"InvalidBatch : Field name not found : {job.external_id_field}"
    return None


def _process_row(org: Org, job: Job, obj: SObjectType, columns: list[str], row: list[str]) -> None:
    """One CSV row through the org's DML. An empty cell leaves the field alone (null on
    insert); ``#N/A`` sets it to null, as in Salesforce's Bulk API data files."""
    raw = {name: cell for name, cell in zip(columns, row) if cell != ""}
    given_id = raw.get("Id") or ""
    try:
        if len(row) != len(columns):
            raise DmlError("INVALID_FIELD", f"Incorrect number of columns: expected {len(columns)}, found {len(row)}")
        values = org.coerce(obj, raw, source="csv")
        op = job.operation
        values.pop("Id", None)
        if op == "insert":
            if given_id:
                raise DmlError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
            _guard(job, obj, None)
            rec_id, created = org.insert(obj, values), True
        elif op == "update":
            rec = org.existing(obj, given_id)
            _guard(job, obj, rec.id)
            org.update(obj, rec.id, values)
            rec_id, created = rec.id, False
        elif op == "upsert" and job.external_id_field == "Id":
            if given_id:
                rec = org.existing(obj, given_id)
                _guard(job, obj, rec.id)
                org.update(obj, rec.id, values)
                rec_id, created = rec.id, False
            else:
                _guard(job, obj, None)
                rec_id, created = org.insert(obj, values), True
        elif op == "upsert":
            ext = obj.fields[job.external_id_field]
            if values.get(ext.name) is None:
                raise DmlError("MISSING_ARGUMENT", f"{ext.name} not specified", [ext.name])
            _guard(job, obj, None)
            rec_id, created = org.upsert(obj, ext, values)
        else:  # delete, hardDelete
            rec = org.existing(obj, given_id)
            _guard(job, obj, rec.id)
            if op == "hardDelete":
                org.purge(obj, rec.id)
            else:
                org.delete(obj, rec.id)
            rec_id, created = rec.id, False
        job.successes.append((rec_id, created, row))
    except DmlError as e:
        job.failed += 1
        job.failures.append((given_id if job.operation != "insert" else "", e.bulk_error(), row))


def _guard(job: Job, obj: SObjectType, rec_id: str | None) -> None:
    err = record_fault(denied=job.denied, locked=job.locked, rec_id=rec_id)
    if err is not None:
        raise err
