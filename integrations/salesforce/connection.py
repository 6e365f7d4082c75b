"""A portal's Salesforce connection: Connect (OAuth state, code exchange), Reconnect to another
org, Disconnect, the connection check behind the setup checklist, token key rotation.

Reconnecting to a *different* org (its org id differs) is recorded: ``previous_org_id`` and
``org_changed_at`` are set and the ``salesforce_org_changed`` signal is sent. The sync keys
every Salesforce record id it stores by ``connection.org_id``, so ids of the old org are
never written into the new one.
"""

from __future__ import annotations

import logging
import time

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from ..models import SalesforceConnection
from . import banners, errors, oauth
from .banners import CLEARED, connection_record_error, connection_record_success
from .client import SalesforceClient
from .crypto import rotate
from .errors import MappingError, PermissionDenied, SalesforceError
from .mapping import mappings_for
from .schema import OBJECT, Checklist, checklist, describe_from_cache, summarize

log = logging.getLogger(__name__)

# Sent after a connect whose org id differs from the previous connection's:
# ``sender=SalesforceConnection, connection=..., previous_org_id=..., org_id=...``.
salesforce_org_changed = Signal()

OAUTH_STATES_KEY = "salesforce_oauth_states"
OAUTH_STATE_TTL_SECONDS = 600
OAUTH_STATES_MAX = 5


def connection_get_or_create(portal) -> SalesforceConnection:
    return SalesforceConnection.objects.get_or_create(portal=portal)[0]


# --- OAuth state in the session ---------------------------------------------------------


class StateRejected(Exception):
    """The callback's state is unknown, already used, expired, or belongs to someone else."""


def oauth_state_create(*, session, portal, user, environment, mydomain_url="") -> str:
    """Start a Connect: remember state → (portal, user, PKCE verifier, login URL) in the
    user's session and return the Salesforce authorize URL. Raises ``InvalidLoginUrl``."""
    login_url = oauth.login_url_for(environment, mydomain_url)
    url, state, verifier = oauth.authorization_start(login_url)
    now = time.time()
    states = {
        k: v for k, v in session.get(OAUTH_STATES_KEY, {}).items() if now - v["created"] < OAUTH_STATE_TTL_SECONDS
    }
    # Keep a few pending attempts (two tabs), never an unbounded list.
    while len(states) >= OAUTH_STATES_MAX:
        states.pop(min(states, key=lambda k: states[k]["created"]))
    states[state] = {
        "portal_id": portal.pk,
        "user_id": user.pk,
        "code_verifier": verifier,
        "login_url": login_url,
        "environment": environment,
        "created": now,
    }
    session[OAUTH_STATES_KEY] = states
    session.modified = True
    return url


def oauth_state_pop(*, session, state: str, user) -> dict:
    """Take (single use) the pending Connect for ``state``; check its age and its user.

    The portal comes from here only, never from the callback's query string. The caller
    must still check that the user is an admin of that portal *now*.
    """
    states = session.get(OAUTH_STATES_KEY, {})
    entry = states.pop(state or "", None) if state else None
    session[OAUTH_STATES_KEY] = states
    session.modified = True
    if entry is None:
        raise StateRejected("This Salesforce authorization is unknown or was already used.")
    if time.time() - entry["created"] > OAUTH_STATE_TTL_SECONDS:
        raise StateRejected("This Salesforce authorization took too long and expired.")
    if entry["user_id"] != user.pk:
        raise StateRejected("This Salesforce authorization was started by another user.")
    return entry


# --- connect / disconnect ----------------------------------------------------------------


def connection_connect(*, portal, user, code: str, code_verifier: str, login_url: str, environment: str) -> SalesforceConnection:
    """Finish a Connect: exchange the code, read the identity, store the tokens encrypted.

    Nothing is stored unless every step succeeds; a token obtained before a later step
    fails is revoked (best effort). Raises ``SalesforceError`` subclasses.
    """
    try:
        token = oauth.code_exchange(login_url, code, code_verifier)
    except errors.AppCredentialsRefused as e:
        banners.operators_alert(portal=portal, error=e)
        raise
    org_id, user_id = oauth.ids_from_identity_url(token["id"])
    probe = SalesforceConnection(
        portal=portal, login_url=login_url, instance_url=token["instance_url"], org_id=org_id, user_id=user_id
    )
    probe.access_token = token["access_token"]
    probe.refresh_token = token.get("refresh_token", "")
    identity = _identity_confirm(probe=probe, token=token, login_url=login_url, org_id=org_id)
    # Salesforce has answered; only now open a transaction (no network calls inside it).
    with transaction.atomic():
        conn, previous = _connection_store(portal=portal, user=user, token=token, identity=identity, probe=probe,
                                           login_url=login_url, environment=environment, org_id=org_id, user_id=user_id)
    _previous_token_revoke(conn, previous)
    return conn


def _previous_token_revoke(conn: SalesforceConnection, previous: tuple[str, str] | None) -> None:
    """Revoke the refresh token a Reconnect replaced, now that the new one is stored.

    Salesforce keeps five approvals per user per connected app and silently revokes the oldest
    on a sixth (Salesforce Help, "Manage OAuth Access for Your Connected Apps"); an old token
    left alive holds one of the five. Best effort: a refusal (already revoked) or an outage
    only leaves the old approval to expire, and never undoes the new connection.
    """
    if previous is None:
        return
    login_url, token = previous
    try:
        oauth.token_revoke(login_url, token)
    except SalesforceError as e:
        log.warning("Could not revoke the replaced Salesforce token of portal %s: %s", conn.portal_id, e)


def _identity_confirm(*, probe, token, login_url, org_id) -> dict:
    """Check the new token: it must come with a refresh token and belong to the authorized
    org. On any failure revoke it (best effort) and raise."""
    try:
        if not token.get("refresh_token"):
            raise errors.OAuthFailed(
                "Salesforce issued no refresh token. The connected app must allow the "
                "“Perform requests at any time (refresh_token, offline_access)” scope.",
                code="no_refresh_token",
            )
        identity = SalesforceClient(probe).identity(token["id"])
        if identity.get("organization_id", org_id)[:15] != org_id[:15]:
            raise errors.OAuthFailed("The identity does not belong to the authorized org.", code="identity_mismatch")
    except SalesforceError:
        try:
            oauth.token_revoke(login_url, token.get("refresh_token") or token["access_token"])
        except SalesforceError:
            log.warning("Could not revoke the token of a failed Salesforce connect", exc_info=True)
        raise
    return identity


def _connection_store(*, portal, user, token, identity, probe, login_url, environment, org_id, user_id):
    SalesforceConnection.objects.get_or_create(portal=portal)  # a row to lock, even on the first connect
    conn = SalesforceConnection.objects.select_for_update().get(portal=portal)
    now = timezone.now()
    old_org = conn.org_id
    previous = (conn.login_url, conn.refresh_token) if conn.refresh_token_enc else None
    if previous and previous[1] == probe.refresh_token:
        previous = None
    org_changed = bool(old_org and old_org[:15] != org_id[:15])
    if org_changed:
        conn.previous_org_id = old_org
        conn.org_changed_at = now
        conn.schema_cache = {}
    conn.status = SalesforceConnection.Status.CONNECTED
    conn.environment = environment
    conn.login_url = login_url
    conn.instance_url = token["instance_url"].rstrip("/")
    conn.org_id = identity.get("organization_id") or org_id
    conn.user_id = identity.get("user_id") or user_id
    conn.username = identity.get("username", "")
    conn.display_name = identity.get("display_name", "")
    conn.access_token_enc = probe.access_token_enc
    conn.refresh_token_enc = probe.refresh_token_enc
    conn.connected_at = now
    conn.connected_by = user
    conn.last_success_at = now
    for name, value in CLEARED.items():
        setattr(conn, name, value)
    conn.save()
    if org_changed:
        transaction.on_commit(
            lambda: salesforce_org_changed.send(
                sender=SalesforceConnection, connection=conn, previous_org_id=old_org, org_id=conn.org_id
            )
        )
    return conn, previous


def connection_disconnect(*, connection: SalesforceConnection) -> tuple[bool, str]:
    """Revoke the token at Salesforce, then forget it here (even when revoke fails).

    Returns ``(revoked, detail)``; ``detail`` says why revoke failed.
    """
    revoked, detail = True, ""
    if connection.has_tokens:
        try:
            SalesforceClient(connection).revoke()
        except SalesforceError as e:
            revoked, detail = False, f"{e.code}: {e.message}".strip(": ")
    SalesforceConnection.objects.filter(pk=connection.pk).update(
        status=SalesforceConnection.Status.DISCONNECTED,
        access_token_enc="",
        refresh_token_enc="",
        **CLEARED,
        updated_at=timezone.now(),
    )
    connection.refresh_from_db()
    return revoked, detail


# --- connection health: the setup checklist ----------------------------------------------


def connection_check(*, connection: SalesforceConnection, describe=None) -> Checklist | None:
    """Describe ``ThankView__c`` and update the checklist, schema cache and banner.

    Used by "Check again", after Connect and after a mapping change, and by the sync's
    pre-flight. Returns the checklist, or None when Salesforce could not be asked (the
    error is recorded as the banner).
    """
    now = timezone.now()
    if describe is None:
        client = SalesforceClient(connection)
        try:
            describe = client.describe_or_none(OBJECT)
        except SalesforceError as e:
            SalesforceConnection.objects.filter(pk=connection.pk).update(last_checked_at=now)
            connection_record_error(connection=connection, error=e)
            return None
    cl = checklist(describe or None, mappings_for(connection.portal), connection=connection)
    cache = summarize(describe or None)
    if LEAD_ACCESS in (connection.schema_cache or {}):  # what the last run learned; describe cannot tell
        cache[LEAD_ACCESS] = connection.schema_cache[LEAD_ACCESS]
    SalesforceConnection.objects.filter(pk=connection.pk).update(schema_cache=cache, last_checked_at=now)
    connection.refresh_from_db()
    if cl.problem:
        kind, code, message, fields = cl.problem
        cls = PermissionDenied if kind == errors.PERMISSIONS else MappingError
        connection_record_error(connection=connection, error=cls(message, code=code, fields=fields))
    else:
        _health_record(connection)
    return cl


# --- Lead access, learned by the sync ------------------------------------------------------

LEAD_ACCESS = "lead_access_missing"
LEAD_ACCESS_MESSAGE = (
    "The connected Salesforce user cannot read Leads, so recipients are matched to Contacts only. "
    "Give the user Read access to Lead (the ThankView permission set grants it)."
)


def connection_lead_access(*, connection: SalesforceConnection, error: SalesforceError | None) -> None:
    """After a run: remember whether the user could read Leads, and show the banner that follows.

    A query FROM Lead refused with INVALID_TYPE (``errors.ObjectNotReadable``) does not stop the
    sync; the admin sees the permissions banner until a run reads Leads again. The note lives
    in ``schema_cache``, so the next pre-flight's check keeps the banner instead of clearing it
    (which would mail the admins again on every run).
    """
    cache = dict(connection.schema_cache or {})
    if error is None:
        cache.pop(LEAD_ACCESS, None)
    else:
        cache[LEAD_ACCESS] = {"code": error.code, "message": error.message}
    SalesforceConnection.objects.filter(pk=connection.pk).update(schema_cache=cache)
    connection.schema_cache = cache
    _health_record(connection)


def _health_record(connection: SalesforceConnection) -> None:
    """No checklist problem: clear the banner, or keep the Lead access one."""
    missing = (connection.schema_cache or {}).get(LEAD_ACCESS)
    if missing:
        connection_record_error(connection=connection, error=errors.ObjectNotReadable(
            LEAD_ACCESS_MESSAGE, code=missing.get("code") or "INVALID_TYPE", object_name="Lead",
        ))
    else:
        connection_record_success(connection=connection)


def connection_checklist(connection: SalesforceConnection | None) -> Checklist | None:
    """The checklist from the last describe (no Salesforce call), for page views."""
    if connection is None or not connection.schema_cache:
        return None
    describe = describe_from_cache(connection.schema_cache)
    return checklist(describe, mappings_for(connection.portal), connection=connection)


# --- token key rotation ------------------------------------------------------------------


def connection_tokens_rotate() -> int:
    """Re-encrypt every stored token under the first key of FIELD_ENCRYPTION_KEYS.

    Key rotation: put the new key first, run this (``manage.py rotate_salesforce_tokens``),
    then drop the old key. Returns how many connections were rewritten.
    """
    n = 0
    for conn in SalesforceConnection.objects.exclude(access_token_enc="", refresh_token_enc="").only("pk", "access_token_enc", "refresh_token_enc"):
        SalesforceConnection.objects.filter(pk=conn.pk, access_token_enc=conn.access_token_enc).update(
            access_token_enc=rotate(conn.access_token_enc), refresh_token_enc=rotate(conn.refresh_token_enc)
        )
        n += 1
    return n
