"""REST calls of the client: identity, describe, SOQL queries (also through ``/composite``),
``/limits``, sObject Collections, revoke. Each goes through ``BaseClient._call`` (base.py).

Per-record failures inside sObject Collections are *not* exceptions: each input record gets
a ``RecordResult`` whose errors ``errors.record_errors`` reads.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote_plus, urlencode, urlsplit

from django.conf import settings

from .. import oauth
from ..errors import (
    NotFound,
    SalesforceError,
    SessionExpired,
    error_for,
    record_errors,
    response_error,
)
from .base import InvalidSession, raise_for_answer

COLLECTION_LIMIT = 200  # sObject Collections accept at most 200 records per call (§2.7)
# A /composite call takes up to 25 subrequests, at most 5 of them queries; it counts as one
# API call, and its subrequest URLs travel in the JSON body, so the 16 KB URI limit of a GET
# does not apply to them (§2.4, §2.8).
COMPOSITE_QUERY_LIMIT = 5
# A GET query whose URL-encoded SOQL is longer than this goes through /composite instead:
# the rest of the 16,384-byte URI+header budget is the path and the headers (§2.4).
MAX_GET_SOQL_BYTES = 12_000


@dataclass
class RecordResult:
    """One record's outcome in an sObject Collections call."""

    ok: bool
    id: str | None = None
    created: bool | None = None
    errors: list[tuple[str, str, list[str]]] = field(default_factory=list)

    @classmethod
    def from_answer(cls, raw: dict) -> RecordResult:
        return cls(ok=bool(raw.get("success")), id=raw.get("id"), created=raw.get("created"),
                   errors=record_errors(raw.get("errors")))

    @property
    def error_codes(self) -> list[str]:
        return [code for code, _, _ in self.errors]

    def exception(self) -> SalesforceError | None:
        """The first error as one of our classes (MappingError, InvalidId, ...), or None."""
        if self.ok or not self.errors:
            return None
        code, message, fields = self.errors[0]
        return error_for(code, message, fields=fields)


def chunks(items: list, size: int = COLLECTION_LIMIT) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class RestCalls:
    """The REST API surface (a mixin of ``SalesforceClient``; needs ``BaseClient``)."""

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
                raise InvalidSession(SessionExpired("Session expired or invalid", code="INVALID_SESSION_ID", status=401))
            if resp.status_code >= 300:
                try:
                    content = resp.json()
                except ValueError:
                    content = resp.text
                raise response_error(resp.status_code, content)
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
                raise_for_answer(status, sub.get("body"))
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
        return [RecordResult.from_answer(r) for r in raw]

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

    def revoke(self) -> None:
        """Revoke the refresh token (which revokes its access tokens) at Salesforce (§1.7)."""
        conn = self.connection
        token = conn.refresh_token or conn.access_token
        if token:
            oauth.token_revoke(conn.login_url, token)


