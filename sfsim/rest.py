"""REST resources under ``/services/data/vXX.X/`` (reference §2).

``dispatch`` routes one already-authenticated call (the HTTP pipeline in ``server.py`` has
checked the token, counted the call and applied faults). Composite subrequests come back
through ``dispatch`` too, sharing the outer call's context.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from . import ids, lockdown, realorg, soql
from .errors import ApiError, DmlError, json_parser_error, not_found
from .faults import record_fault
from .org import JsonTypeError, Org
from .schema import Field, Record, SObjectType
from .web import Request, Response, error_response, json_response

MIN_VERSION, MAX_VERSION = 42, 66
COLLECTION_LIMIT = 200  # §2.7
COMPOSITE_LIMIT, COMPOSITE_QUERY_LIMIT = 25, 5  # §2.8
CURSOR_TTL, CURSOR_MAX = 15 * 60, 500
_SEASONS = ("Spring", "Summer", "Winter")


def version_label(major: int) -> str:
    """42.0 is Spring '18; three releases a year; Winter carries next year's number (§2.2)."""
    idx = major - 42
    season = _SEASONS[idx % 3]
    year = 18 + idx // 3 + (1 if season == "Winter" else 0)
    return f"{season} '{year}"


def versions() -> list[dict]:
    return [{"label": version_label(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
            for v in range(MIN_VERSION, MAX_VERSION + 1)]


def supported_version(version: str) -> bool:
    m = re.fullmatch(r"(\d+)\.0", version)
    return bool(m) and MIN_VERSION <= int(m.group(1)) <= MAX_VERSION


# --- call context: faults that act on the records of one call ---------------------------


@dataclass
class CallContext:
    """One HTTP call's view of the per-record faults (``unlock_row``, ``no_access``).

    Faults are taken (and their ``count`` decremented) the first time the call needs them,
    so a ``no_access`` fault limited to one call is spent only by a call that touches its
    object. Composite subrequests share their parent call's state (``for_version``).
    """

    org: Org
    path: str
    version: str
    state: dict = field(default_factory=dict)

    def for_version(self, version: str) -> CallContext:
        return CallContext(self.org, self.path, version, self.state)

    def locked(self) -> bool:
        if "locked" not in self.state:
            self.state["locked"] = self.org.faults.take("unlock_row", self.path) is not None
        return self.state["locked"]

    def denied(self, obj: SObjectType) -> bool:
        """Object not createable/updateable for the user (fault ``no_access``)."""
        denied = self.state.setdefault("denied", {})
        key = obj.name.lower()
        if key not in denied:
            fault = self.org.faults.peek("no_access", self.path)
            hit = fault is not None and (fault.opts.get("object") or "ThankView__c").lower() == key
            if hit:
                self.org.faults.take("no_access", self.path)
            denied[key] = hit
        return denied[key]

    def guard(self, obj: SObjectType, rec_id: str | None = None) -> None:
        """Per-record faults, checked before each write."""
        err = record_fault(denied=self.denied(obj), locked=self.locked(), rec_id=rec_id)
        if err is not None:
            raise err


# --- helpers ------------------------------------------------------------------------------


def sobject_or_404(org: Org, name: str) -> SObjectType:
    obj = org.sobject(name)
    if obj is None or realorg.unreadable(org, obj):
        raise not_found()
    return obj


def render(obj: SObjectType, rec: Record, version: str, fields: list[str] | None = None) -> dict:
    out: dict[str, Any] = {"attributes": {"type": obj.name, "url": f"/services/data/v{version}/sobjects/{obj.name}/{rec.id}"}}
    for name in fields if fields is not None else obj.fields:
        out[name] = rec.values.get(name)
    return out


def field_list(obj: SObjectType, raw: str | None) -> list[str] | None:
    if not raw:
        return None
    out = []
    for name in raw.split(","):
        f = obj.field(name.strip())
        if f is None:
            raise ApiError(400, "INVALID_FIELD", soql.NO_FIELD.format(name=name.strip(), obj=obj.name))
        out.append(f.name)
    return out


def json_type_error(req: Request, err: JsonTypeError) -> ApiError:
    """Salesforce's deserialiser message, with the value's line/column in the body (§6 ≈)."""
    raw = req.text()
    m = re.search(r'"' + re.escape(err.field) + r'"\s*:\s*', raw, re.IGNORECASE)
    pos = m.end() if m else 0
    line = raw.count("\n", 0, pos) + 1
    col = pos - (raw.rfind("\n", 0, pos) + 1) + 1
    value = json.dumps(err.value) if not isinstance(err.value, str) else err.value
    return json_parser_error(
        f"Cannot deserialize instance of {err.sf_type} from {err.token} value {value} "
        f"or request may be missing a required field at [line:{line}, column:{col}]"
    )


def coerce(org: Org, req: Request, obj: SObjectType, raw: dict) -> dict:
    """Client values → stored values. JSON type errors fail the request, field errors the record."""
    try:
        return org.coerce(obj, raw)
    except JsonTypeError as e:
        raise json_type_error(req, e) from None


# --- versions, resources, limits ----------------------------------------------------------


def resources(org: Org, req: Request, ctx: CallContext, m: dict) -> Response:
    v = ctx.version
    names = ["tooling", "metadata", "eclair", "folders", "prechatForms", "chatter", "tabs", "appMenu", "quickActions",
             "queryAll", "commerce", "wave", "iot", "analytics", "search", "identity", "composite", "parameterizedSearch",
             "theme", "nouns", "recent", "licensing", "limits", "async-queries", "query", "match", "emailConnect",
             "compactLayouts", "knowledgeManagement", "sobjects", "actions", "support", "jobs"]
    out = {name: f"/services/data/v{v}/{name}" for name in names}
    out["identity"] = f"{org.base_url}/id/{org.org_id}/{org.user_id}"
    return json_response(200, out)


def limits(org: Org, req: Request, ctx: CallContext, m: dict) -> Response:
    """§2.3: DailyApiRequests agrees with the Sforce-Limit-Info counter (this call included)."""
    if not org.config["view_setup"]:
        raise lockdown.limits_refused()
    mx = org.config["daily_api_max"]

    def pair(a: int, b: int) -> dict:
        return {"Max": a, "Remaining": b}

    return json_response(200, {
        "ConcurrentAsyncGetReportInstances": pair(200, 200),
        "ConcurrentSyncReportRuns": pair(20, 20),
        "DailyApiRequests": pair(mx, max(mx - org.api_used, 0)),
        "DailyAsyncApexExecutions": pair(250000, 250000),
        "DailyBulkApiBatches": pair(15000, 15000),
        "DailyBulkApiRequests": pair(5000, 5000),
        "DailyBulkV2QueryFileStorageMB": pair(976562, 976562),
        "DailyBulkV2QueryJobs": pair(10000, 10000),
        "DailyStreamingApiEvents": pair(10000, 10000),
        "DataStorageMB": pair(5, 5),
        "FileStorageMB": pair(20, 20),
        "HourlyODataCallout": pair(10000, 10000),
        "SingleEmail": pair(15, 15),
    })


# --- query (§2.4, §5) ----------------------------------------------------------------------


def _soql_error(e: soql.SoqlError) -> ApiError:
    return ApiError(400, e.code, e.message)


def batch_size(org: Org, req: Request) -> int:
    size = int(org.config["query_batch_size"])
    opts = req.header("sforce-query-options") or ""
    m = re.search(r"batchSize\s*=\s*(\d+)", opts)
    if m:
        size = min(size, max(200, min(2000, int(m.group(1)))))
    return max(1, size)


def run_query(org: Org, req: Request, ctx: CallContext, all_rows: bool) -> Response:
    q = req.arg("q")
    if not q:
        raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
    try:
        bound = soql.prepare(org, q)
    except soql.SoqlError as e:
        raise _soql_error(e) from None
    rows = bound.run(include_deleted=all_rows)
    if bound.q.count_only:
        return json_response(200, {"totalSize": len(rows), "done": True, "records": []})
    return _page(org, req, ctx, {"bound": bound, "rows": rows, "endpoint": "queryAll" if all_rows else "query"}, None, 0)


def _page(org: Org, req: Request, ctx: CallContext, cursor: dict, locator: str | None, offset: int) -> Response:
    """One batch of a result; further batches through ``nextRecordsUrl`` =
    ``/services/data/vXX.X/query/<locator>-<offset>``, an absolute path (§2.4)."""
    rows, bound = cursor["rows"], cursor["bound"]
    size = batch_size(org, req)
    chunk = rows[offset : offset + size]
    out: dict[str, Any] = {"totalSize": len(rows), "done": offset + size >= len(rows)}
    if not out["done"]:
        if locator is None:
            locator = org.ids.new("01g")
            org.cursors[locator] = cursor
            while len(org.cursors) > CURSOR_MAX:
                org.cursors.popitem(last=False)
        cursor["touched"] = time.time()
        out["nextRecordsUrl"] = f"/services/data/v{ctx.version}/{cursor['endpoint']}/{locator}-{offset + size}"
    elif locator is not None:
        org.cursors.pop(locator, None)
    out["records"] = [bound.render(r, ctx.version) for r in chunk]
    return json_response(200, out)


def query(org: Org, req: Request, ctx: CallContext, m: dict) -> Response:
    return run_query(org, req, ctx, all_rows=False)


def query_all(org: Org, req: Request, ctx: CallContext, m: dict) -> Response:
    return run_query(org, req, ctx, all_rows=True)


def query_more(org: Org, req: Request, ctx: CallContext, m: dict) -> Response:
    locator, _, offset = m["locator"].rpartition("-")
    cursor = org.cursors.get(locator)
    if cursor is None or not offset.isdigit() or time.time() - cursor.get("touched", 0) > CURSOR_TTL:
        raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return _page(org, req, ctx, cursor, locator, int(offset))


# --- describe (§2.5) -----------------------------------------------------------------------


def describe_global(org: Org, req: Request, ctx: CallContext, m: dict) -> Response:
    return json_response(200, {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [o.summary(ctx.version, createable=not ctx.denied(o)) for o in org.objects.values()
                     if not realorg.unreadable(org, o)],
    })


def sobject_info(org: Org, req: Request, ctx: CallContext, m: dict) -> Response:
    obj = sobject_or_404(org, m["obj"])
    return json_response(200, {"objectDescribe": obj.summary(ctx.version, createable=not ctx.denied(obj)), "recentItems": []})


def describe(org: Org, req: Request, ctx: CallContext, m: dict) -> Response:
    obj = sobject_or_404(org, m["obj"])
    out = obj.describe(ctx.version, createable=not ctx.denied(obj))
    out["childRelationships"] = org.child_relationships(obj)
    return json_response(200, out)


# --- single-record CRUD (§2.6) ---------------------------------------------------------------


def _dml_or_400(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except DmlError as e:
        raise e.to_api_error(400) from None


def create(org: Org, req: Request, ctx: CallContext, m: dict) -> Response:
    obj = sobject_or_404(org, m["obj"])
    values = _dml_or_400(lambda: coerce(org, req, obj, req.json_object()))

    def write() -> str:
        ctx.guard(obj)
        return org.insert(obj, values)

    rec_id = _dml_or_400(write)
    return json_response(201, {"id": rec_id, "success": True, "errors": []})


def record_from_url(org: Org, obj: SObjectType, segment: str) -> Record:
    """A record addressed as ``sobjects/{Obj}/{id}`` (§2.6).

    A segment that is not an id of this object is read as an external-id field name, hence
    404 "Provided external ID field does not exist..."; no such record → 404 NOT_FOUND;
    deleted → 404 ENTITY_IS_DELETED.
    """
    canonical = ids.to18(segment)
    if canonical is None or canonical[:3] != obj.key_prefix:
        raise ApiError(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {segment}")
    rec = obj.get(canonical)
    if rec is None or not realorg.visible(org, rec):
        raise not_found()
    if rec.deleted:
        raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
    return rec


def get_record(org: Org, req: Request, ctx: CallContext, m: dict) -> Response:
    obj = sobject_or_404(org, m["obj"])
    rec = record_from_url(org, obj, unquote(m["rid"]))
    return json_response(200, render(obj, rec, ctx.version, field_list(obj, req.arg("fields"))))


def update_record(org: Org, req: Request, ctx: CallContext, m: dict) -> Response:
    obj = sobject_or_404(org, m["obj"])
    rec = record_from_url(org, obj, unquote(m["rid"]))
    body = req.json_object()
    body = {k: v for k, v in body.items() if not (k.lower() == "id" and isinstance(v, str) and ids.to18(v) == rec.id)}
    values = _dml_or_400(lambda: coerce(org, req, obj, body))

    def write() -> None:
        ctx.guard(obj, rec.id)
        org.update(obj, rec.id, values)

    _dml_or_400(write)
    return Response(204)


def delete_record(org: Org, req: Request, ctx: CallContext, m: dict) -> Response:
    obj = sobject_or_404(org, m["obj"])
    rec = record_from_url(org, obj, unquote(m["rid"]))

    def write() -> None:
        ctx.guard(obj, rec.id)
        org.delete(obj, rec.id)

    _dml_or_400(write)
    return Response(204)


def external_field(obj: SObjectType, name: str) -> Field:
    f = obj.field(name)
    if f is None or not (f.external_id or f.type == "id"):
        raise ApiError(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {name}")
    return f


def _matches(obj: SObjectType, f: Field, value: str) -> list[Record]:
    key = f.index_key(value if f.type not in ("id",) else (ids.to18(value) or value))
    return [obj.records[h] for h in sorted(obj.lookup(f.name, key)) if not obj.records[h].deleted]


def _several(obj: SObjectType, recs: list[Record], version: str) -> Response:
    """Value matches more than one record: 300 with the candidates' URLs (§2.6)."""
    return json_response(300, [f"/services/data/v{version}/sobjects/{obj.name}/{r.id}" for r in recs])


def get_by_external_id(org: Org, req: Request, ctx: CallContext, m: dict) -> Response:
    obj = sobject_or_404(org, m["obj"])
    f = external_field(obj, m["field"])
    recs = _matches(obj, f, unquote(m["value"]))
    if not recs:
        raise not_found()
    if len(recs) > 1:
        return _several(obj, recs, ctx.version)
    return json_response(200, render(obj, recs[0], ctx.version, field_list(obj, req.arg("fields"))))


def upsert_record(org: Org, req: Request, ctx: CallContext, m: dict) -> Response:
    """``PATCH sobjects/{Obj}/{ExtField}/{value}``: 201 created, 200 ``created:false`` (204 up
    to v45), 300 when the value matches several records (§2.6)."""
    obj = sobject_or_404(org, m["obj"])
    f = external_field(obj, m["field"])
    value = unquote(m["value"])
    recs = _matches(obj, f, value)
    if len(recs) > 1:
        return _several(obj, recs, ctx.version)
    body = {k: v for k, v in req.json_object().items() if k.lower() != f.name.lower()}
    values = _dml_or_400(lambda: coerce(org, req, obj, body))

    def write() -> tuple[str, bool]:
        ctx.guard(obj, recs[0].id if recs else None)
        if recs:
            org.update(obj, recs[0].id, values)
            return recs[0].id, False
        if f.type == "id":
            raise DmlError("NOT_FOUND", "The requested resource does not exist")
        return org.insert(obj, {**values, f.name: org.coerce(obj, {f.name: value}, source="csv")[f.name]}), True

    rec_id, created = _dml_or_400(write)
    if not created and float(ctx.version) <= 45.0:
        return Response(204)
    return json_response(201 if created else 200, {"id": rec_id, "success": True, "errors": [], "created": created})


# --- sObject Collections (§2.7) ---------------------------------------------------------


def _records(req: Request) -> tuple[list, bool]:
    body = req.json_object()
    records = body.get("records")
    if not isinstance(records, list):
        raise json_parser_error("Cannot deserialize instance of List<SObject> from VALUE_NULL: records is required")
    if len(records) > COLLECTION_LIMIT:
        raise _limit_error()
    all_or_none = body.get("allOrNone", False)
    if not isinstance(all_or_none, bool):
        raise json_parser_error(f"Cannot deserialize instance of boolean from {type(all_or_none).__name__} value {all_or_none}")
    for rec in records:
        if not isinstance(rec, dict):
            raise json_parser_error("Cannot deserialize instance of SObject from non-object value")
    return records, all_or_none


def _limit_error() -> ApiError:
    return ApiError(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")


def _typed(org: Org, rec: dict, default: SObjectType | None = None) -> SObjectType:
    type_name = (rec.get("attributes") or {}).get("type") if isinstance(rec.get("attributes"), dict) else None
    if not type_name:
        if default is not None:
            return default
        raise ApiError(400, "INVALID_TYPE", "Must send a concrete entity type.")
    obj = org.sobject(type_name)
    if obj is None:
        raise ApiError(400, "INVALID_TYPE", soql.NO_TYPE.format(name=type_name))
    return obj


def run_collection(org: Org, items: list, all_or_none: bool, write: Callable[[Any], dict]) -> list[dict]:
    """Write each item in order; per-record results. With ``allOrNone`` one failure rolls
    everything back and every other record reports ALL_OR_NONE_OPERATION_ROLLED_BACK (§2.7)."""
    sp = org.savepoint()
    results, failed = [], False
    for item in items:
        try:
            results.append(write(item))
        except DmlError as e:
            failed = True
            result = {"success": False, "errors": [e.collection_error()]}
            if isinstance(item, tuple) and item[1]:
                result = {"id": item[1], **result}
            results.append(result)
    if failed and all_or_none:
        org.rollback_to(sp)
        rolled = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                  "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
                  "fields": []}
        results = [r if not r["success"] else {"success": False, "errors": [dict(rolled)]} for r in results]
    else:
        org.release(sp)
    return results


def _prepare(org: Org, req: Request, obj: SObjectType, raw: dict) -> dict | DmlError:
    try:
        return coerce(org, req, obj, raw)
    except DmlError as e:
        return e


def collections_create(org: Org, req: Request, ctx: CallContext, m: dict) -> Response:
    records, all_or_none = _records(req)
    prepared = []
    for raw in records:
        obj = _typed(org, raw)
        has_id = any(k.lower() == "id" for k in raw)
        prepared.append((obj, None, DmlError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"]) if has_id else _prepare(org, req, obj, raw)))

    def write(item) -> dict:
        obj, _, values = item
        if isinstance(values, DmlError):
            raise values
        ctx.guard(obj)
        return {"id": org.insert(obj, values), "success": True, "errors": []}

    return json_response(200, run_collection(org, prepared, all_or_none, write))


def collections_update(org: Org, req: Request, ctx: CallContext, m: dict) -> Response:
    records, all_or_none = _records(req)
    prepared = []
    for raw in records:
        obj = _typed(org, raw)
        rec_id = next((v for k, v in raw.items() if k.lower() == "id"), None)
        rest = {k: v for k, v in raw.items() if k.lower() != "id"}
        if not isinstance(rec_id, str) or not rec_id:
            prepared.append((obj, None, DmlError("MISSING_ARGUMENT", "Id not specified in an update call", [])))
            continue
        prepared.append((obj, rec_id, _prepare(org, req, obj, rest)))

    def write(item) -> dict:
        obj, rec_id, values = item
        if isinstance(values, DmlError):
            raise values
        rec = org.existing(obj, rec_id)
        ctx.guard(obj, rec.id)
        org.update(obj, rec.id, values)
        return {"id": rec.id, "success": True, "errors": []}

    return json_response(200, run_collection(org, prepared, all_or_none, write))


def collections_upsert(org: Org, req: Request, ctx: CallContext, m: dict) -> Response:
    """``PATCH composite/sobjects/{Obj}/{ExtField}``: one type, the external id in each record,
    results carry ``created`` (§2.7)."""
    obj = sobject_or_404(org, m["obj"])
    f = obj.field(m["field"])
    if f is None:
        raise ApiError(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {m['field']}")
    if not f.external_id:
        raise ApiError(400, "INVALID_FIELD", f"Field name provided, {f.name} is not an External ID or indexed field for {obj.name}")
    records, all_or_none = _records(req)
    prepared = []
    for raw in records:
        if _typed(org, raw, obj) is not obj:
            raise ApiError(400, "INVALID_TYPE", f"The sObject type of each record must be {obj.name} for this upsert")
        prepared.append((obj, None, _prepare(org, req, obj, raw)))
    keys = Counter(f.index_key(v.get(f.name)) for _, _, v in prepared if isinstance(v, dict) and v.get(f.name) is not None)

    def write(item) -> dict:
        _, _, values = item
        if isinstance(values, DmlError):
            raise values
        value = values.get(f.name)
        if value is None:
            raise DmlError("MISSING_ARGUMENT", f"{f.name} not specified", [f.name])
        if keys[f.index_key(value)] > 1:
            raise DmlError("DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {value}", [f.name])
        ctx.guard(obj)
        rec_id, created = org.upsert(obj, f, values)
        return {"id": rec_id, "success": True, "errors": [], "created": created}

    return json_response(200, run_collection(org, prepared, all_or_none, write))


def collections_delete(org: Org, req: Request, ctx: CallContext, m: dict) -> Response:
    raw_ids = [i for i in (req.arg("ids") or "").split(",") if i]
    if not raw_ids:
        raise ApiError(400, "MISSING_ARGUMENT", "ids parameter is required")
    if len(raw_ids) > COLLECTION_LIMIT:
        raise _limit_error()
    all_or_none = (req.arg("allOrNone") or "false").lower() == "true"

    def write(item) -> dict:
        _, rec_id = item
        canonical = ids.to18(rec_id)
        obj = org.sobject_for_id(canonical) if canonical else None
        if obj is None:
            raise DmlError("MALFORMED_ID", f"malformed id {rec_id}", [])
        rec = org.existing(obj, canonical)
        ctx.guard(obj, rec.id)
        org.delete(obj, rec.id)
        return {"id": rec.id, "success": True, "errors": []}

    return json_response(200, run_collection(org, [(None, i) for i in raw_ids], all_or_none, write))


def collections_retrieve(org: Org, req: Request, ctx: CallContext, m: dict) -> Response:
    """``GET composite/sobjects/{Obj}?ids=&fields=`` (or POST with a JSON body): records in
    order, null for ids that match nothing (§2.7 ⚠)."""
    obj = sobject_or_404(org, m["obj"])
    if req.method == "POST":
        body = req.json_object()
        raw_ids, raw_fields = body.get("ids") or [], ",".join(body.get("fields") or [])
    else:
        raw_ids, raw_fields = [i for i in (req.arg("ids") or "").split(",") if i], req.arg("fields") or ""
    if not raw_fields:
        raise ApiError(400, "MISSING_ARGUMENT", "The fields parameter is required")
    if len(raw_ids) > 2000:
        raise _limit_error()
    names = field_list(obj, raw_fields)
    out = []
    for rec_id in raw_ids:
        canonical = ids.to18(rec_id)
        rec = obj.get(canonical) if canonical and canonical[:3] == obj.key_prefix else None
        shown = rec is not None and not rec.deleted and realorg.visible(org, rec)
        out.append(render(obj, rec, ctx.version, names) if shown else None)
    return json_response(200, out)


# --- Composite (§2.8) -------------------------------------------------------------------

_REF = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_HALTED = "The transaction was rolled back since another operation in the same transaction failed."


def composite(org: Org, req: Request, ctx: CallContext, m: dict) -> Response:
    body = req.json_object()
    subs = body.get("compositeRequest")
    if not isinstance(subs, list) or not subs:
        raise json_parser_error("compositeRequest is required")
    if len(subs) > COMPOSITE_LIMIT:
        raise ApiError(400, "LIMIT_EXCEEDED", f"Composite requests can contain up to {COMPOSITE_LIMIT} subrequests")
    heavy = sum(1 for s in subs if isinstance(s, dict) and re.search(r"/(query|queryAll|composite/sobjects)(/|\?|$)", s.get("url", "")))
    if heavy > COMPOSITE_QUERY_LIMIT:
        raise ApiError(400, "LIMIT_EXCEEDED", f"Composite requests can contain up to {COMPOSITE_QUERY_LIMIT} query or sObject Collections subrequests")
    all_or_none = bool(body.get("allOrNone", False))
    sp = org.savepoint()
    results: list[dict] = []
    bodies: dict[str, Any] = {}
    failed = False
    for sub in subs:
        ref_id = sub.get("referenceId") if isinstance(sub, dict) else None
        if failed and all_or_none:
            results.append(_halted(ref_id, _HALTED))
            continue
        try:
            url, sub_body = _resolve_refs(sub.get("url", ""), sub.get("body"), bodies)
        except KeyError as e:
            failed = True
            results.append(_halted(ref_id, f"Invalid reference specified. No value for {e.args[0]} found in "
                                            f"{e.args[0].split('.')[0]}. Provided referenceId ({ref_id})"))
            continue
        resp = _subrequest(org, ctx, sub.get("method", "GET").upper(), url, sub_body, sub.get("httpHeaders") or {})
        sub_json = resp.json()
        if resp.status < 300 and ref_id:
            bodies[ref_id] = sub_json
        failed = failed or resp.status >= 400
        headers = {}
        created_in = re.search(r"/sobjects/(\w+)/?$", url)
        if resp.status == 201 and created_in and isinstance(sub_json, dict):
            headers["Location"] = f"/services/data/v{ctx.version}/sobjects/{created_in.group(1)}/{sub_json['id']}"
        results.append({"body": sub_json, "httpHeaders": headers, "httpStatusCode": resp.status, "referenceId": ref_id})
    if failed and all_or_none:
        org.rollback_to(sp)
        results = [r if r["httpStatusCode"] >= 400 else _halted(r["referenceId"], _HALTED) for r in results]
    else:
        org.release(sp)
    return json_response(200, {"compositeResponse": results})


def _halted(ref_id: str | None, message: str) -> dict:
    return {"body": [{"errorCode": "PROCESSING_HALTED", "message": message}], "httpHeaders": {},
            "httpStatusCode": 400, "referenceId": ref_id}


def _lookup_ref(bodies: dict, name: str, path: str) -> Any:
    if name not in bodies:
        raise KeyError(name + path)
    value = bodies[name]
    for part in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        key, index = part
        try:
            value = value[key] if key else value[int(index)]
        except (KeyError, IndexError, TypeError):
            raise KeyError(name + path) from None
    return value


def _resolve_refs(url: str, body: Any, bodies: dict) -> tuple[str, Any]:
    def sub(m: re.Match, in_json: bool) -> str:
        value = _lookup_ref(bodies, m.group(1), m.group(2))
        if isinstance(value, str):
            return json.dumps(value)[1:-1] if in_json else value
        return json.dumps(value)

    url = _REF.sub(lambda m: sub(m, False), url)
    if body is not None:
        body = json.loads(_REF.sub(lambda m: sub(m, True), json.dumps(body)))
    return url, body


def _subrequest(org: Org, ctx: CallContext, method: str, url: str, body: Any, headers: dict) -> Response:
    parts = urlsplit(url)
    m = re.match(r"/services/data/v(\d+\.\d)(/.*)?$", parts.path)
    if not m:
        return json_response(400, not_found().body())
    sub = Request(method, parts.path, parse_qs(parts.query, keep_blank_values=True),
                  {k.lower(): v for k, v in headers.items()},
                  json.dumps(body).encode() if body is not None else b"")
    resp, _ = dispatch(org, sub, ctx.for_version(m.group(1)), (m.group(2) or "/")[1:])
    return resp


# --- routing ------------------------------------------------------------------------------

Handler = Callable[[Org, Request, CallContext, dict], Response]


def _bulk_routes():
    from . import bulk

    return bulk.ROUTES


ROUTES: list[tuple[str, str, Handler, str]] = [
    ("GET", r"", resources, "resources"),
    ("GET", r"limits", limits, "limits"),
    ("GET", r"query", query, "query"),
    ("GET", r"queryAll", query_all, "query"),
    ("GET", r"(?:query|queryAll)/(?P<locator>[^/]+)", query_more, "query_more"),
    ("GET", r"sobjects", describe_global, "describe_global"),
    ("GET", r"sobjects/(?P<obj>\w+)/describe", describe, "describe"),
    ("GET", r"sobjects/(?P<obj>\w+)", sobject_info, "sobject_info"),
    ("POST", r"sobjects/(?P<obj>\w+)", create, "sobject_create"),
    ("GET", r"sobjects/(?P<obj>\w+)/(?P<rid>[^/]+)", get_record, "sobject_get"),
    ("PATCH", r"sobjects/(?P<obj>\w+)/(?P<rid>[^/]+)", update_record, "sobject_update"),
    ("DELETE", r"sobjects/(?P<obj>\w+)/(?P<rid>[^/]+)", delete_record, "sobject_delete"),
    ("GET", r"sobjects/(?P<obj>\w+)/(?P<field>\w+)/(?P<value>.+)", get_by_external_id, "sobject_get"),
    ("PATCH", r"sobjects/(?P<obj>\w+)/(?P<field>\w+)/(?P<value>.+)", upsert_record, "sobject_upsert"),
    ("POST", r"composite/sobjects", collections_create, "collections_create"),
    ("PATCH", r"composite/sobjects", collections_update, "collections_update"),
    ("DELETE", r"composite/sobjects", collections_delete, "collections_delete"),
    ("PATCH", r"composite/sobjects/(?P<obj>\w+)/(?P<field>\w+)", collections_upsert, "collections_upsert"),
    ("GET", r"composite/sobjects/(?P<obj>\w+)", collections_retrieve, "collections_retrieve"),
    ("POST", r"composite/sobjects/(?P<obj>\w+)", collections_retrieve, "collections_retrieve"),
    ("POST", r"composite", composite, "composite"),
]
WRITE_KINDS = {"sobject_create", "sobject_update", "sobject_delete", "sobject_upsert", "collections_create",
               "collections_update", "collections_upsert", "collections_delete", "composite", "bulk"}
_compiled: list[tuple[str, re.Pattern, Handler, str]] | None = None


def _table() -> list[tuple[str, re.Pattern, Handler, str]]:
    global _compiled
    if _compiled is None:
        _compiled = [(meth, re.compile(pattern + r"/?"), fn, kind) for meth, pattern, fn, kind in ROUTES + _bulk_routes()]
    return _compiled


def classify(method: str, rest: str) -> str:
    """The stats kind of a call (known before it runs)."""
    for meth, rx, _, kind in _table():
        if rx.fullmatch(rest) and meth == method:
            return kind
    return "other"


def dispatch(org: Org, req: Request, ctx: CallContext, rest: str) -> tuple[Response, str]:
    """Route ``rest`` (the path after ``/services/data/vXX.X/``) to its handler."""
    if not supported_version(ctx.version):
        return error_response(not_found()), "other"
    allowed = []
    for meth, rx, fn, kind in _table():
        m = rx.fullmatch(rest)
        if not m:
            continue
        if meth != req.method:
            allowed.append(meth)
            continue
        try:
            return fn(org, req, ctx, m.groupdict()), kind
        except ApiError as e:
            return error_response(e), kind
    if allowed:
        methods = ",".join(sorted(set(allowed) | ({"HEAD"} if "GET" in allowed else set())))
        return json_response(405, [{"errorCode": "METHOD_NOT_ALLOWED",
                                    "message": f"HTTP Method '{req.method}' not allowed. Allowed are {methods}"}]), "other"
    return error_response(not_found()), "other"

