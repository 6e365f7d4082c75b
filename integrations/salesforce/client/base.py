"""The client's chokepoint: every request to a Salesforce instance passes through ``_call``.

1. the transport: simple-salesforce in *direct* mode (``instance_url`` + ``session_id``) over
   one ``requests.Session`` that trusts ``settings.SALESFORCE_CA_BUNDLE`` when set, with
   (connect, read) timeouts on every call;
2. the token: on ``401 INVALID_SESSION_ID`` it runs the refresh grant once (simple-salesforce
   never refreshes in direct mode, reference §3.3), stores the new access token encrypted,
   and retries the call; a refresh answered ``invalid_grant`` raises ``SessionExpired``;
3. retries: transient failures (connection errors, timeouts, 5xx, ``UNABLE_TO_LOCK_ROW``) are
   retried with exponential backoff and jitter (tenacity), a bounded number of times. A
   request that is not idempotent (a *create*) is only retried when Salesforce surely did
   not process it (connection refused, connect timeout, 503, row lock); after a read
   timeout its outcome is unknown and the ``Unavailable`` raised says so
   (``outcome_unknown``), so the sync can look before it creates again;
4. translation: every failure becomes one of ``errors.py``'s classes, chained with
   ``raise ... from``;
5. accounting: ``api_calls`` counts the HTTP requests answered by the instance, ``api_usage``
   is the latest ``Sforce-Limit-Info`` (``api-usage=used/max``), persisted on the connection;
6. a trail: one log line per request (method, path, status, ms, API usage), never a token.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError as _SSError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from .. import oauth, transport
from ..errors import SalesforceError, SessionExpired, Unavailable, response_error

# One name for the whole client package, whichever module logs.
log = logging.getLogger("integrations.salesforce.client")

_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")
SOQL_LOGGED_CHARS = 80  # a query's SOQL in the log: up to WHERE (no values), at most this long


class InvalidSession(Exception):
    """Internal to the client: a call answered 401 INVALID_SESSION_ID; refresh and retry once."""

    def __init__(self, error: SalesforceError):
        self.error = error


def raise_for_answer(status: int, content: Any) -> None:
    """Raise our error for an error answer (InvalidSession for a 401 that a refresh may cure)."""
    err = response_error(status, content)
    if status == 401 and err.code == "INVALID_SESSION_ID":
        raise InvalidSession(err)
    raise err


def _setting(name, default):
    return getattr(settings, name, default)


def _is_unsent(e: requests.RequestException) -> bool:
    # Connection refused / DNS failure / connect timeout: the request never reached Salesforce.
    return isinstance(e, requests.ConnectTimeout) or "NewConnectionError" in repr(e) or "NameResolutionError" in repr(e)


def loggable_url(url: str) -> str:
    """The path of ``url`` without its query string, except a SOQL query's statement cut
    before its WHERE clause (the object and fields, never the values: emails, ids)."""
    parts = urlsplit(url)
    soql = parse_qs(parts.query).get("q")
    if not soql:
        return parts.path
    statement = soql[0].split(" WHERE ", 1)[0]
    if len(statement) > SOQL_LOGGED_CHARS:
        statement = statement[:SOQL_LOGGED_CHARS] + "…"
    return f"{parts.path}?q={statement}"


class _ObservedSession(transport.Session):
    """The client's HTTP session: every request it sends is reported to ``observe``,
    answered or not (requests runs redirects through ``send`` too)."""

    def __init__(self, observe: Callable):
        super().__init__()
        self._observe = observe

    def send(self, request, **kwargs):
        started = time.monotonic()
        try:
            response = super().send(request, **kwargs)
        except requests.RequestException as e:
            self._observe(request, None, started, e)
            raise
        self._observe(request, response, started, None)
        return response


class BaseClient:
    def __init__(self, connection, *, usage_persist_seconds: float = 0.0):
        """``usage_persist_seconds``: persist the API usage at most this often (each persist
        is a committed UPDATE, which adds up over a long run; ``flush_usage`` at its end)."""
        self.connection = connection
        self.api_calls = 0
        self.api_usage: tuple[int, int] | None = None
        self.usage_persist_seconds = usage_persist_seconds
        self._usage_persisted_at = 0.0
        self._persisted_usage: tuple[int, int] | None = None
        self._session = _ObservedSession(self._observe)  # trusts settings.SALESFORCE_CA_BUNDLE when set
        self._sf: Salesforce | None = None
        self._peer: BaseClient | None = None

    # --- transport ----------------------------------------------------------------------

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

    def _observe(self, request, response, started: float, error: Exception | None) -> None:
        """Count the answer, read its API usage, and log one line for the request."""
        ms = (time.monotonic() - started) * 1000
        usage = "-"
        if response is not None:
            self.api_calls += 1
            m = _LIMIT_INFO.search(response.headers.get("Sforce-Limit-Info", ""))
            if m:
                self.api_usage = (int(m.group(1)), int(m.group(2)))
                usage = f"{m.group(1)}/{m.group(2)}"
        status = response.status_code if response is not None else type(error).__name__
        log.info(
            "Salesforce %s %s -> %s in %.0f ms, api-usage=%s (portal %s)",
            request.method, loggable_url(request.url), status, ms, usage, self.connection.portal_id,
        )

    # --- accounting -----------------------------------------------------------------------

    def flush_usage(self) -> None:
        self._usage_persisted_at = 0.0
        self._persist_usage()

    def _persist_usage(self):
        conn = self.connection
        if self.usage_persist_seconds and time.monotonic() - self._usage_persisted_at < self.usage_persist_seconds:
            return
        self._usage_persisted_at = time.monotonic()
        if self.api_usage and self.api_usage != self._persisted_usage and conn.pk:
            used, total = self.api_usage
            type(conn).objects.filter(pk=conn.pk).update(api_usage_used=used, api_usage_max=total)
            conn.api_usage_used, conn.api_usage_max = used, total
            self._persisted_usage = self.api_usage

    def in_parallel(self, fn: Callable[[BaseClient], Any]) -> _Pending:
        """Start ``fn(peer)`` on another thread, where ``peer`` is a second client of the same
        connection (its own HTTP connection, so the two requests really overlap), kept for
        this client's life. The peer never writes the database itself (the usage is persisted
        by this client), and its calls are added to ``api_calls`` when the result is read, so
        the count stays exact."""
        if self._peer is None:
            self._peer = type(self)(self.connection, usage_persist_seconds=float("inf"))
        return _Pending(self, self._peer, fn)

    def _absorb(self, peer: BaseClient, calls_before: int) -> None:
        self.api_calls += peer.api_calls - calls_before
        if peer.api_usage and (self.api_usage is None or peer.api_usage[0] > self.api_usage[0]):
            self.api_usage = peer.api_usage

    # --- one call -------------------------------------------------------------------------

    def _once(self, fn: Callable[[Salesforce], Any]) -> Any:
        """Run ``fn(sf)`` once, translating every failure into our classes."""
        try:
            return fn(self.sf)
        except _SSError as e:
            err = response_error(e.status, e.content)
            if e.status == 401 and err.code == "INVALID_SESSION_ID":
                raise InvalidSession(err) from e
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
        except InvalidSession:
            pass
        # ``refresh`` first adopts a token another worker stored meanwhile; only when ours is
        # still the stored one does it run the grant. A token refused right after our own grant
        # means the user or the app lost access.
        for _ in range(2):
            granted = self.refresh()
            try:
                return self._once(fn)
            except InvalidSession as e:
                if granted:
                    raise SessionExpired(e.error.message, code=e.error.code, status=401) from e
                refused = e
        raise SessionExpired(refused.error.message, code=refused.error.code, status=401) from refused

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

    # --- the token ------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Renew the access token, one refresh at a time per connection; True if this client
        ran the refresh grant, False if it adopted a token another worker had just stored.

        Under refresh-token rotation each grant returns a new refresh token and kills the one
        sent (Salesforce Help, "OAuth 2.0 Refresh Token Flow for Renewed Sessions"), so two
        workers refreshing with the same token would leave one of them with ``invalid_grant``
        and the connection wrongly expired. Hence: lock the connection's row
        (``select_for_update``, held for the one token call), re-read the stored tokens, adopt
        them if they changed, else run the grant with the stored refresh token and store what
        it returns before the lock is released.

        ``invalid_grant`` (revoked or expired refresh token, inactive user) raises
        ``SessionExpired``: only Reconnect helps, so there is no retry.
        """
        conn = self.connection
        if not conn.pk:  # the probe of a Connect: nothing is stored yet
            self._grant_and_store(None)
            return True
        with transaction.atomic():
            row = (type(conn).objects.select_for_update().filter(pk=conn.pk)
                   .values("access_token_enc", "refresh_token_enc", "instance_url").first())
            if row is not None and row["access_token_enc"] and row["access_token_enc"] != conn.access_token_enc:
                self._adopt(row)
                return False
            if row is not None:
                conn.refresh_token_enc = row["refresh_token_enc"]
            # No row: disconnected meanwhile (or not visible to this thread's transaction);
            # refresh with the token in hand and store nothing.
            self._grant_and_store(conn.pk if row is not None else None)
        return True

    def _adopt(self, row: dict) -> None:
        conn = self.connection
        conn.access_token_enc, conn.refresh_token_enc = row["access_token_enc"], row["refresh_token_enc"]
        if row["instance_url"] and row["instance_url"] != conn.instance_url:
            conn.instance_url, self._sf = row["instance_url"], None
        self._set_session(conn.access_token)

    def _grant_and_store(self, pk) -> None:
        """The refresh grant with the connection's refresh token; the new tokens in memory and,
        with ``pk``, in the database (one ``update()``)."""
        conn = self.connection
        started = time.monotonic()
        try:
            token = oauth.token_refresh(conn.login_url, conn.refresh_token)
        except SalesforceError as e:
            self._log_refresh(started, e.code)
            raise
        self._log_refresh(started, "ok")
        conn.access_token = token["access_token"]
        updates = {"access_token_enc": conn.access_token_enc}
        if token.get("refresh_token"):  # only with refresh-token rotation (reference §1.5)
            conn.refresh_token = token["refresh_token"]
            updates["refresh_token_enc"] = conn.refresh_token_enc
        if token.get("instance_url") and token["instance_url"].rstrip("/") != conn.instance_url.rstrip("/"):
            conn.instance_url = token["instance_url"].rstrip("/")
            updates["instance_url"] = conn.instance_url
            self._sf = None
        if pk:
            type(conn).objects.filter(pk=pk).update(**updates)
        self._set_session(conn.access_token)

    def _log_refresh(self, started: float, result: str) -> None:
        log.info(
            "Salesforce POST /services/oauth2/token (refresh grant) -> %s in %.0f ms (portal %s)",
            result, (time.monotonic() - started) * 1000, self.connection.portal_id,
        )

    def _set_session(self, access_token: str) -> None:
        if self._sf is not None:
            self._sf.session_id = access_token
            self._sf._generate_headers()  # simple-salesforce's documented way (§3.3)


class _Pending:
    """The result of ``BaseClient.in_parallel``, to be read once."""

    def __init__(self, client: BaseClient, peer: BaseClient, fn: Callable[[BaseClient], Any]):
        self._client, self._peer, self._before = client, peer, peer.api_calls

        def work():
            try:
                return fn(peer)
            finally:
                db_connection.close()  # only if a token refresh opened one on this thread

        pool = ThreadPoolExecutor(max_workers=1)
        self._future = pool.submit(work)
        pool.shutdown(wait=False)

    def result(self):
        try:
            return self._future.result()
        finally:
            self._client._absorb(self._peer, self._before)

    def settle(self) -> None:
        """Wait without raising (the main thread is already failing)."""
        try:
            self.result()
        except Exception:
            pass
