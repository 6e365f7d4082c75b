"""Injected faults and call statistics.

A fault applies to the next ``count`` matching calls (None: until cleared), optionally only
to calls whose path contains ``path``. Kinds and what they do (see README of the control API
in ``control.py``):

=====================  =====================================================================
expire_sessions        action: every access token issued so far stops working (401
                       INVALID_SESSION_ID, §3.2); refresh still works.
revoke_refresh_tokens  action: every refresh token is revoked (refresh → 400 invalid_grant
                       "expired access/refresh token", §1.6) and, as revoking a refresh token
                       does (§1.7), its access tokens; ``keep_access_tokens=True`` spares them.
inactive_user          token grants → 400 invalid_grant "inactive user"; existing access
                       tokens die with it (a deactivated user's sessions end).
api_disabled           REST → 403 API_DISABLED_FOR_ORG.
no_access              ``object`` (default ThankView__c) is not createable/updateable:
                       describe says so, writes fail per record INSUFFICIENT_ACCESS_OR_READONLY.
request_limit          REST → 403 REQUEST_LIMIT_EXCEEDED "TotalRequests Limit exceeded.".
unavailable            REST → 503 SERVER_UNAVAILABLE.
unlock_row             every record written by the call fails UNABLE_TO_LOCK_ROW.
drop_after_commit      write calls (collections, sObject, composite, bulk) commit, then the
                       socket is closed without an answer.
latency                ``ms`` added to each matching REST call.
reject_record          a written record whose ``field`` equals ``value`` (of ``object``) fails
                       per record with ``code``, ``message``, ``fields`` (sfsim.realorg).
=====================  =====================================================================
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from .errors import DmlError

KINDS = {
    "expire_sessions",
    "revoke_refresh_tokens",
    "inactive_user",
    "api_disabled",
    "no_access",
    "request_limit",
    "unavailable",
    "unlock_row",
    "drop_after_commit",
    "latency",
    "reject_record",
}
# Kinds that act once on the org's state rather than waiting for calls.
ACTIONS = {"expire_sessions", "revoke_refresh_tokens"}


@dataclass
class Fault:
    kind: str
    count: int | None = None
    path: str | None = None
    opts: dict[str, Any] = field(default_factory=dict)

    def matches(self, path: str) -> bool:
        return self.path is None or self.path in path

    def describe(self) -> dict:
        return {"kind": self.kind, "count": self.count, "path": self.path, **self.opts}


class FaultSet:
    def __init__(self):
        self._faults: list[Fault] = []

    def add(self, kind: str, count: int | None = None, path: str | None = None, **opts) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {sorted(KINDS)}")
        if count is not None and count < 1:
            raise ValueError("count must be a positive number or None")
        fault = Fault(kind, count, path, opts)
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        self._faults.clear()

    def peek(self, kind: str, path: str = "") -> Fault | None:
        return next((f for f in self._faults if f.kind == kind and f.matches(path)), None)

    def take(self, kind: str, path: str = "") -> Fault | None:
        """The first fault of ``kind`` matching ``path``, counting this call against it."""
        fault = self.peek(kind, path)
        if fault is not None and fault.count is not None:
            fault.count -= 1
            if fault.count <= 0:
                self._faults.remove(fault)
        return fault

    def list(self) -> list[dict]:
        return [f.describe() for f in self._faults]


class Stats:
    """What the org saw: calls counted against the daily limit, calls by kind, a log."""

    LOG_SIZE = 20000

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.api_calls = 0
        self.by_kind: Counter[str] = Counter()
        self.log: deque[dict] = deque(maxlen=self.LOG_SIZE)

    def record(self, kind: str, method: str, path: str, status: int, *, counted: bool) -> None:
        if counted:
            self.api_calls += 1
        self.by_kind[kind] += 1
        self.log.append({"method": method, "path": path, "status": status, "kind": kind})

    def snapshot(self) -> dict:
        return {"api_calls": self.api_calls, "by_kind": dict(self.by_kind), "log": list(self.log)}


def record_fault(*, denied: bool, locked: bool, rec_id: str | None) -> DmlError | None:
    """The per-record error of the ``no_access`` / ``unlock_row`` faults, if one applies."""
    if denied:
        return DmlError("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id", [])
    if locked:
        suffix = f" or 1 records: {rec_id}" if rec_id else ""
        return DmlError("UNABLE_TO_LOCK_ROW", f"unable to obtain exclusive access to this record{suffix}", [])
    return None
