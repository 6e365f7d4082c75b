"""The one Salesforce REST client. Every call the product makes to Salesforce goes here.

This module alone imports simple-salesforce and reads Salesforce error JSON. It owns:

1. the transport: simple-salesforce in *direct* mode (``instance_url`` + ``session_id``) over
   one ``requests.Session`` that trusts ``settings.SALESFORCE_CA_BUNDLE`` when set, with
   (connect, read) timeouts on every call;
2. the token: on ``401 INVALID_SESSION_ID`` it runs the refresh grant once (simple-salesforce
   never refreshes in direct mode, reference §3.3), stores the new access token encrypted,
   and retries the call; a refresh answered ``invalid_grant`` raises ``SessionExpired``;
3. retries: transient failures (connection errors, timeouts, 5xx, ``UNABLE_TO_LOCK_ROW``) are
   retried with exponential backoff and jitter (tenacity), a bounded number of times. A
   *create* is only retried when Salesforce surely did not process it (connection refused,
   connect timeout, 503, row lock); after a read timeout its outcome is unknown and the
   ``Unavailable`` raised says so (``outcome_unknown``), so the sync can look before it
   creates again;
4. classification: every failure becomes one of ``errors.py``'s classes, chained with
   ``raise ... from``, keeping Salesforce's code, message and fields;
5. accounting: ``api_calls`` counts the HTTP requests sent to the instance, ``api_usage`` is
   the latest ``Sforce-Limit-Info`` (``api-usage=used/max``), persisted on the connection.

Per-record failures inside sObject Collections are *not* exceptions: each input record gets
a ``RecordResult``. Bulk API 2.0 ingest (issue 6): the ``bulk_job_*`` methods, raw requests
through the same session inside ``_call``, so they inherit all of the above; ``bulk.py``
builds the CSV and reads the results.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

import requests
from django.conf import settings
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError as _SSError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from . import oauth, transport
from .errors import (
    NotFound,
    PermissionDenied,
    SalesforceError,
    SessionExpired,
    Unavailable,
    error_for,
)

log = logging.getLogger(__name__)

COLLECTION_LIMIT = 200  # sObject Collections accept at most 200 records per call (§2.7)
# A /composite call takes up to 25 subrequests, at most 5 of them queries; it counts as one
# API call, and its subrequest URLs travel in the JSON body, so the 16 KB URI limit of a GET
# does not apply to them (§2.4, §2.8).
COMPOSITE_QUERY_LIMIT = 5
# A GET query whose URL-encoded SOQL is longer than this goes through /composite instead:
# the rest of the 16,384-byte URI+header budget is the path and the headers (§2.4).
MAX_GET_SOQL_BYTES = 12_000
_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")


@dataclass
class RecordResult:
    """One record's outcome in an sObject Collections call."""

    ok: bool
    id: str | None = None
    created: bool | None = None
    errors: list[tuple[str, str, list[str]]] = field(default_factory=list)

    @property
    def error_codes(self) -> list[str]:
        return [code for code, _, _ in self.errors]

    def exception(self) -> SalesforceError | None:
        """The first error as one of our classes (MappingError, InvalidId, ...), or None."""
        if self.ok or not self.errors:
            return None
        code, message, fields = self.errors[0]
        return error_for(code, message, fields=fields)


class _InvalidSession(Exception):
    """Internal: a REST call answered 401 INVALID_SESSION_ID; refresh and retry once."""

    def __init__(self, error: SalesforceError):
        self.error = error


def _setting(name, default):
    return getattr(settings, name, default)


def _first_error(content: Any) -> tuple[str, str, list[str] | None]:
    """(errorCode, message, fields) of a REST error body (always a JSON array, §2.1)."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        e = content[0]
        return e.get("errorCode") or e.get("statusCode") or "", e.get("message", ""), e.get("fields")
    if isinstance(content, dict):  # OAuth-style or unexpected shapes
        return content.get("error") or content.get("errorCode") or "", content.get("error_description") or content.get("message", ""), None
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return "", str(content or "")[:500], None


def classify_response_error(status: int, content: Any) -> SalesforceError:
    """Our exception for an HTTP error answer from the REST API."""
    code, message, fields = _first_error(content)
    if status >= 500 and code not in ("REQUEST_LIMIT_EXCEEDED",):
        return Unavailable(message or f"Salesforce answered HTTP {status}.", code=code or f"HTTP_{status}", fields=fields, status=status)
    if not code:
        code = {401: "INVALID_SESSION_ID", 403: "FORBIDDEN", 404: "NOT_FOUND"}.get(status, f"HTTP_{status}")
    err = error_for(code, message, fields=fields, status=status)
    if type(err) is SalesforceError and status == 403:
        err = PermissionDenied(message, code=code, fields=fields, status=status)
    return err


def _is_unsent(e: requests.RequestException) -> bool:
    # Connection refused / DNS failure / connect timeout: the request never reached Salesforce.
    return isinstance(e, requests.ConnectTimeout) or "NewConnectionError" in repr(e) or "NameResolutionError" in repr(e)


class SalesforceClient:
    def __init__(self, connection):
        self.connection = connection
        self.api_calls = 0
        self.api_usage: tuple[int, int] | None = None
        self._persisted_usage: tuple[int, int] | None = None
        self._session = transport.Session()  # trusts settings.SALESFORCE_CA_BUNDLE when set
        self._session.hooks["response"].append(self._on_response)
        self._sf: Salesforce | None = None

    # --- plumbing -------------------------------------------------------------------

    @property
    def timeout(self) -> tuple[float, float]:
        total = float(_setting("SALESFORCE_TIMEOUT_SECONDS", 20))
        return (min(5.0, total), total)

    @property
    def sf(self) -> Salesforce:
        if self._sf is None:
            conn = self.connection
            if not conn.instance_url or not conn.access_token_enc:
                raise SessionExpired("This portal is not connected to Salesforce.", code="NOT_CONNECTED")
            self._sf = Salesforce(
                instance_url=conn.instance_url,
                session_id=conn.access_token,
                version=settings.SALESFORCE_API_VERSION,
                session=self._session,
            )
        return self._sf

    def _on_response(self, response, *args, **kwargs):
        # A requests hook sees every response, errors included, so the count and the
        # usage are right whatever simple-salesforce does with the answer.
        self.api_calls += 1
        m = _LIMIT_INFO.search(response.headers.get("Sforce-Limit-Info", ""))
        if m:
            self.api_usage = (int(m.group(1)), int(m.group(2)))

    # Sync engine (issue 5): a long run sets this to persist the usage at most every N
    # seconds (each persist is a committed UPDATE) and calls flush_usage() at its end.
    usage_persist_interval = 0.0
    _usage_persisted_at = 0.0

    def flush_usage(self) -> None:
        self._usage_persisted_at = 0.0
        self._persist_usage()

    def _persist_usage(self):
        conn = self.connection
        if self.usage_persist_interval and time.monotonic() - self._usage_persisted_at < self.usage_persist_interval:
            return
        self._usage_persisted_at = time.monotonic()
        if self.api_usage and self.api_usage != self._persisted_usage and conn.pk:
            used, total = self.api_usage
            type(conn).objects.filter(pk=conn.pk).update(api_usage_used=used, api_usage_max=total)
            conn.api_usage_used, conn.api_usage_max = used, total
            self._persisted_usage = self.api_usage

    def _once(self, fn: Callable[[Salesforce], Any]) -> Any:
        """Run ``fn(sf)`` once, translating every failure into our classes."""
        try:
            return fn(self.sf)
        except _SSError as e:
            err = classify_response_error(e.status, e.content)
            if e.status == 401 and err.code == "INVALID_SESSION_ID":
                raise _InvalidSession(err) from e
            raise err from e
        except requests.Timeout as e:
            err = Unavailable(f"Salesforce did not answer in time ({e.__class__.__name__}).", code="TIMEOUT")
            err.outcome_unknown = not isinstance(e, requests.ConnectTimeout)
            raise err from e
        except requests.RequestException as e:
            err = Unavailable(f"Could not reach Salesforce: {e.__class__.__name__}.", code="CONNECTION_ERROR")
            err.outcome_unknown = not _is_unsent(e)
            raise err from e
        except ValueError as e:  # a 2xx that is not JSON: not Salesforce talking
            raise Unavailable("Salesforce answered with something that is not JSON.", code="BAD_RESPONSE") from e

    def _with_refresh(self, fn):
        try:
            return self._once(fn)
        except _InvalidSession:
            pass
        # Another worker may have refreshed this connection already: try its token first,
        # and run the refresh grant (once) only if that does not work either.
        if self._adopt_stored_token():
            try:
                return self._once(fn)
            except _InvalidSession:
                pass
        self.refresh()
        try:
            return self._once(fn)
        except _InvalidSession as e:
            # A fresh token refused again: the user or the app lost access.
            raise SessionExpired(e.error.message, code=e.error.code, status=401) from e

    def _call(self, fn: Callable[[Salesforce], Any], *, idempotent: bool = True) -> Any:
        """Run ``fn(sf)`` with refresh-once, bounded retries with backoff+jitter, accounting."""

        def transient(e: BaseException) -> bool:
            if not isinstance(e, Unavailable):
                return False
            return idempotent or not getattr(e, "outcome_unknown", False)

        retrying = Retrying(
            retry=retry_if_exception(transient),
            stop=stop_after_attempt(int(_setting("SALESFORCE_RETRY_ATTEMPTS", 4))),
            wait=wait_random_exponential(
                multiplier=float(_setting("SALESFORCE_RETRY_BASE_SECONDS", 0.5)),
                max=float(_setting("SALESFORCE_RETRY_MAX_WAIT_SECONDS", 8)),
            ),
            reraise=True,
        )
        try:
            return retrying(self._with_refresh, fn)
        finally:
            self._persist_usage()

    def _adopt_stored_token(self) -> bool:
        """Use the access token in the database if it differs from ours (refreshed elsewhere)."""
        conn = self.connection
        if not conn.pk:
            return False
        stored = type(conn).objects.filter(pk=conn.pk).values_list("access_token_enc", flat=True).first()
        if not stored or stored == conn.access_token_enc:
            return False
        conn.access_token_enc = stored
        self._set_session(conn.access_token)
        return True

    def refresh(self) -> None:
        """Run the refresh grant and store the new access token, encrypted (one ``update()``).

        ``invalid_grant`` (revoked or expired refresh token, inactive user) raises
        ``SessionExpired``: only Reconnect helps, so there is no retry.
        """
        conn = self.connection
        token = oauth.token_refresh(conn.login_url, conn.refresh_token)
        conn.access_token = token["access_token"]
        updates = {"access_token_enc": conn.access_token_enc}
        if token.get("refresh_token"):  # only with refresh-token rotation (reference §1.5)
            conn.refresh_token = token["refresh_token"]
            updates["refresh_token_enc"] = conn.refresh_token_enc
        if token.get("instance_url") and token["instance_url"].rstrip("/") != conn.instance_url.rstrip("/"):
            conn.instance_url = token["instance_url"].rstrip("/")
            updates["instance_url"] = conn.instance_url
            self._sf = None
        if conn.pk:
            type(conn).objects.filter(pk=conn.pk).update(**updates)
        self._set_session(conn.access_token)

    def _set_session(self, access_token: str) -> None:
        if self._sf is not None:
            self._sf.session_id = access_token
            self._sf._generate_headers()  # simple-salesforce's documented way (§3.3)

    # --- calls ------------------------------------------------------------------------

    def identity(self, url: str | None = None) -> dict:
        """The identity of the connected user (org id, user id, username, display name).

        ``url`` is the token response's ``id``; by default it is rebuilt from the stored
        login URL, org id and user id. The bearer token is only sent to a Salesforce host
        (or to the configured login/instance hosts, which covers the simulator).
        """
        conn = self.connection
        url = url or f"{conn.login_url}/id/{conn.org_id}/{conn.user_id}"
        parts = urlsplit(url)
        allowed = {urlsplit(u).netloc for u in (conn.login_url, conn.instance_url) if u}
        if parts.scheme != "https" or not (
            parts.netloc in allowed or (parts.hostname or "").endswith(".salesforce.com")
        ):
            raise SalesforceError("The identity URL is not a Salesforce URL.", code="BAD_IDENTITY_URL")

        def get(sf):
            resp = self._session.get(
                url, headers={"Authorization": f"Bearer {sf.session_id}"}, params={"version": settings.SALESFORCE_API_VERSION},
                timeout=self.timeout,
            )
            if resp.status_code == 401 or (resp.status_code == 403 and "Bad_OAuth_Token" in resp.text):
                raise _InvalidSession(SessionExpired("Session expired or invalid", code="INVALID_SESSION_ID", status=401))
            if resp.status_code >= 300:
                try:
                    content = resp.json()
                except ValueError:
                    content = resp.text
                raise classify_response_error(resp.status_code, content)
            return resp.json()

        return self._call(get)

    def describe(self, sobject: str) -> dict:
        """``GET /sobjects/{sobject}/describe``; ``NotFound`` when the object does not exist."""
        return self._call(lambda sf: sf.restful(f"sobjects/{sobject}/describe", timeout=self.timeout))

    def describe_or_none(self, sobject: str) -> dict | None:
        try:
            return self.describe(sobject)
        except NotFound:
            return None

    def query_all(self, soql: str) -> Iterator[dict]:
        """Every record of a SOQL query, page after page (``nextRecordsUrl``), lazily."""
        page = self._call(lambda sf: sf.query(soql, timeout=self.timeout))
        while True:
            yield from page.get("records", [])
            if page.get("done", True) or not page.get("nextRecordsUrl"):
                return
            next_url = page["nextRecordsUrl"]
            page = self._call(lambda sf, url=next_url: sf.query_more(url, identifier_is_url=True, timeout=self.timeout))

    def query_many(self, soqls: list[str]) -> list[list[dict]]:
        """Every record of each SOQL statement, one list per statement, in order.

        One statement short enough for a GET URI is a plain query (``query_all``). Otherwise
        the statements go as GET query subrequests of ``POST /composite`` calls, at most
        ``COMPOSITE_QUERY_LIMIT`` per call (each call counts as one API call, §2.8); a result
        over one batch continues with its ``nextRecordsUrl`` as a subrequest of a later call.
        A failed subrequest raises exactly what the same query as a GET would raise.
        """
        if not soqls:
            return []
        if len(soqls) == 1 and len(quote_plus(soqls[0])) <= MAX_GET_SOQL_BYTES:
            return [list(self.query_all(soqls[0]))]
        version = settings.SALESFORCE_API_VERSION
        rows: list[list[dict]] = [[] for _ in soqls]
        todo = deque((i, f"/services/data/v{version}/query/?{urlencode({'q': soql})}") for i, soql in enumerate(soqls))
        while todo:
            batch = [todo.popleft() for _ in range(min(COMPOSITE_QUERY_LIMIT, len(todo)))]
            body = {
                "allOrNone": False,
                "compositeRequest": [{"method": "GET", "url": url, "referenceId": f"q{n}"} for n, (_, url) in enumerate(batch)],
            }
            pages = self._call(lambda sf, body=body: self._composite_pages(sf, body))
            for (i, _), page in zip(batch, pages):
                rows[i].extend(page.get("records", []))
                if not page.get("done", True) and page.get("nextRecordsUrl"):
                    todo.append((i, page["nextRecordsUrl"]))
        return rows

    def _composite_pages(self, sf, body: dict) -> list[dict]:
        """One ``/composite`` call of GET subrequests: their bodies, or the first failure classified."""
        answer = sf.restful("composite", method="POST", json=body, timeout=self.timeout)
        subs = answer.get("compositeResponse") if isinstance(answer, dict) else None
        if not isinstance(subs, list) or len(subs) != len(body["compositeRequest"]):
            raise SalesforceError("Composite answered an unexpected body.", code="BAD_RESPONSE")
        for sub in subs:
            status = int(sub.get("httpStatusCode") or 0)
            if status >= 300 or not isinstance(sub.get("body"), dict):
                err = classify_response_error(status, sub.get("body"))
                if status == 401 and err.code == "INVALID_SESSION_ID":
                    raise _InvalidSession(err)
                raise err
        return [sub["body"] for sub in subs]

    def query_count(self, soql: str) -> int:
        """``totalSize`` of a query (use ``SELECT COUNT() ...``)."""
        return int(self._call(lambda sf: sf.query(soql, timeout=self.timeout)).get("totalSize", 0))

    def limits(self) -> dict:
        return self._call(lambda sf: sf.limits(timeout=self.timeout))

    def _collection(self, method: str, path: str, sobject: str | None, records: list[dict], all_or_none: bool, *, idempotent: bool):
        if len(records) > COLLECTION_LIMIT:
            raise ValueError(f"sObject Collections take at most {COLLECTION_LIMIT} records per call; got {len(records)}.")
        if not records:
            return []
        body_records = []
        for r in records:
            r = dict(r)
            if sobject and "attributes" not in r:
                r["attributes"] = {"type": sobject}
            body_records.append(r)
        body = {"allOrNone": bool(all_or_none), "records": body_records}
        raw = self._call(
            lambda sf: sf.restful(path, method=method, json=body, timeout=self.timeout), idempotent=idempotent
        )
        if not isinstance(raw, list) or len(raw) != len(records):
            raise SalesforceError("sObject Collections answered an unexpected body.", code="BAD_RESPONSE")
        return [_record_result(r) for r in raw]

    def collection_create(self, records: list[dict], *, sobject: str = "ThankView__c", all_or_none: bool = False) -> list[RecordResult]:
        """``POST /composite/sobjects``: one ``RecordResult`` per record, in order (≤ 200)."""
        return self._collection("POST", "composite/sobjects", sobject, records, all_or_none, idempotent=False)

    def collection_update(self, records: list[dict], *, sobject: str = "ThankView__c", all_or_none: bool = False) -> list[RecordResult]:
        """``PATCH /composite/sobjects``: each record carries its ``id``."""
        return self._collection("PATCH", "composite/sobjects", sobject, records, all_or_none, idempotent=True)

    def collection_upsert(self, sobject: str, ext_field: str, records: list[dict], *, all_or_none: bool = False) -> list[RecordResult]:
        """``PATCH /composite/sobjects/{sobject}/{ext_field}``: upsert by external id."""
        return self._collection(
            "PATCH", f"composite/sobjects/{sobject}/{ext_field}", sobject, records, all_or_none, idempotent=True
        )

    # --- Bulk API 2.0 ingest (reference §2.9; issue 6, driven by bulk.py) ------------------
    # Raw requests through this client's session, inside _call: refresh-once, retries,
    # classification and call counting apply as for every other call.

    def _bulk(self, sf, method: str, path: str, *, expect=(200,), headers=None, **kwargs):
        all_headers = {**sf.headers, **(headers or {})}
        resp = self._session.request(
            method, f"{sf.base_url}jobs/ingest/{path}", headers=all_headers, timeout=self.timeout, **kwargs
        )
        if resp.status_code not in expect:
            try:
                content = resp.json()
            except ValueError:
                content = resp.text
            err = classify_response_error(resp.status_code, content)
            if resp.status_code == 401 and err.code == "INVALID_SESSION_ID":
                raise _InvalidSession(err)
            raise err
        return resp

    def bulk_job_create(self, sobject: str, operation: str, *, external_id: str | None = None) -> dict:
        """``POST jobs/ingest``: an Open CSV job (LF, comma). Retried freely: a lost answer
        leaves at most an empty Open job, which Salesforce deletes after 7 days."""
        body = {"object": sobject, "operation": operation, "contentType": "CSV", "lineEnding": "LF", "columnDelimiter": "COMMA"}
        if external_id:
            body["externalIdFieldName"] = external_id
        return self._call(lambda sf: self._bulk(sf, "POST", "", json=body).json())

    def bulk_job_upload(self, job_id: str, csv_file) -> None:
        """``PUT jobs/ingest/{id}/batches`` with the CSV (a binary file, streamed): 201.

        Not idempotent: a second upload after an unknown outcome would add the rows twice,
        so it is retried only when the request surely never reached Salesforce."""

        def put(sf):
            csv_file.seek(0)
            self._bulk(sf, "PUT", f"{job_id}/batches", expect=(201,), headers={"Content-Type": "text/csv"}, data=csv_file)

        self._call(put, idempotent=False)

    def bulk_job_close(self, job_id: str) -> dict:
        """``PATCH jobs/ingest/{id}`` ``{"state": "UploadComplete"}``: Salesforce starts processing."""
        return self._call(
            lambda sf: self._bulk(sf, "PATCH", job_id, json={"state": "UploadComplete"}).json(), idempotent=False
        )

    def bulk_job_abort(self, job_id: str) -> dict:
        return self._call(lambda sf: self._bulk(sf, "PATCH", job_id, json={"state": "Aborted"}).json())

    def bulk_job_info(self, job_id: str) -> dict:
        """``GET jobs/ingest/{id}``: state, numberRecordsProcessed/Failed, errorMessage."""
        return self._call(lambda sf: self._bulk(sf, "GET", job_id).json())

    def bulk_job_results(self, job_id: str, kind: str, dest) -> None:
        """Stream ``successfulResults`` / ``failedResults`` / ``unprocessedrecords`` (CSV) into
        the binary file ``dest`` (rewritten on a retry), never holding it all in memory."""
        if kind not in ("successfulResults", "failedResults", "unprocessedrecords"):
            raise ValueError(kind)

        def get(sf):
            dest.seek(0)
            dest.truncate()
            resp = self._bulk(sf, "GET", f"{job_id}/{kind}/", stream=True, headers={"Accept": "text/csv"})
            with resp:
                for chunk in resp.iter_content(chunk_size=256 * 1024):
                    dest.write(chunk)
            dest.flush()

        self._call(get)

    def revoke(self) -> None:
        """Revoke the refresh token (which revokes its access tokens) at Salesforce (§1.7)."""
        conn = self.connection
        token = conn.refresh_token or conn.access_token
        if token:
            oauth.token_revoke(conn.login_url, token)


def _record_result(raw: dict) -> RecordResult:
    errors = [
        (e.get("statusCode") or e.get("errorCode") or "", e.get("message", ""), list(e.get("fields") or []))
        for e in (raw.get("errors") or [])
    ]
    return RecordResult(ok=bool(raw.get("success")), id=raw.get("id"), created=raw.get("created"), errors=errors)


def chunks(items: list, size: int = COLLECTION_LIMIT) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
