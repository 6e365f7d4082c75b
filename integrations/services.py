"""Operations on the Salesforce connection: connect, disconnect, check, record health.

Health is written with targeted ``update()`` calls on plain columns, so a sync run, a
"Check again" and a page view never overwrite each other's fields.

Reconnecting to a *different* org (its org id differs) is recorded: ``previous_org_id`` and
``org_changed_at`` are set and the ``salesforce_org_changed`` signal is sent. The sync keys
every Salesforce record id it stores by ``connection.org_id``, so ids of the old org are
never written into the new one.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.dispatch import Signal
from django.urls import reverse
from django.utils import timezone

from thankview.models import Membership

from .models import FieldMapping, SalesforceConnection
from .salesforce import errors, oauth
from .salesforce.client import SalesforceClient
from .salesforce.errors import MappingError, PermissionDenied, SalesforceError, SessionExpired
from .salesforce.mapping import mappings_for, type_problem
from .salesforce.schema import OBJECT, Checklist, checklist, describe_from_cache, summarize

log = logging.getLogger(__name__)

# Sent after a connect whose org id differs from the previous connection's:
# ``sender=SalesforceConnection, connection=..., previous_org_id=..., org_id=...``.
salesforce_org_changed = Signal()

OAUTH_STATES_KEY = "salesforce_oauth_states"
OAUTH_STATE_TTL_SECONDS = 600
OAUTH_STATES_MAX = 5


# --- selectors --------------------------------------------------------------------------


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
    token = oauth.code_exchange(login_url, code, code_verifier)
    org_id, user_id = oauth.ids_from_identity_url(token["id"])
    probe = SalesforceConnection(
        portal=portal, login_url=login_url, instance_url=token["instance_url"], org_id=org_id, user_id=user_id
    )
    probe.access_token = token["access_token"]
    probe.refresh_token = token.get("refresh_token", "")
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

    # Salesforce has answered; only now open a transaction (no network calls inside it).
    with transaction.atomic():
        return _connection_store(portal=portal, user=user, token=token, identity=identity, probe=probe,
                                 login_url=login_url, environment=environment, org_id=org_id, user_id=user_id)


def _connection_store(*, portal, user, token, identity, probe, login_url, environment, org_id, user_id):
    SalesforceConnection.objects.get_or_create(portal=portal)  # a row to lock, even on the first connect
    conn = SalesforceConnection.objects.select_for_update().get(portal=portal)
    now = timezone.now()
    if conn.org_id and conn.org_id[:15] != org_id[:15]:
        conn.previous_org_id = conn.org_id
        conn.org_changed_at = now
        org_changed = True
    else:
        org_changed = False
    old_org = conn.org_id
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
    conn.error_kind, conn.error_code, conn.error_message, conn.error_detail = "", "", "", {}
    conn.error_since = conn.error_notified_at = None
    if org_changed:
        conn.schema_cache = {}
    conn.save()
    if org_changed:
        transaction.on_commit(
            lambda: salesforce_org_changed.send(
                sender=SalesforceConnection, connection=conn, previous_org_id=old_org, org_id=conn.org_id
            )
        )
    return conn


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
        error_kind="",
        error_code="",
        error_message="",
        error_detail={},
        error_since=None,
        error_notified_at=None,
        updated_at=timezone.now(),
    )
    connection.refresh_from_db()
    return revoked, detail


# --- health ------------------------------------------------------------------------------


def connection_record_error(*, connection: SalesforceConnection, error: SalesforceError) -> bool:
    """Store ``error`` as the connection's current problem; email admins when a new kind starts.

    Returns True when this error started a new banner (and the admins were emailed). An
    error without a banner kind (rate limit, not found) is stored as the last error only.
    """
    kind = error.kind if error.kind in errors.STORED_KINDS else ""
    now = timezone.now()
    fields = {
        "error_code": (error.code or "")[:80],
        "error_message": error.message or "",
        "error_detail": error.detail(),
        "updated_at": now,
    }
    if isinstance(error, SessionExpired):
        fields["status"] = SalesforceConnection.Status.EXPIRED
    qs = SalesforceConnection.objects.filter(pk=connection.pk)
    started = 0
    if kind:
        # Conditional update: only the writer that changes the kind starts the banner, so
        # admins get one email per new problem, not one per run or per worker.
        started = qs.exclude(error_kind=kind).update(error_kind=kind, error_since=now, error_notified_at=now, **fields)
    if not started:
        qs.update(**({"error_kind": kind} if not kind else {}), **fields)
    connection.refresh_from_db()
    if started:
        transaction.on_commit(lambda: _email_admins(connection, kind, error))
    return bool(started)


def connection_record_success(*, connection: SalesforceConnection) -> None:
    """Clear the stored banner after a successful check or run."""
    now = timezone.now()
    updates = {
        "error_kind": "", "error_code": "", "error_message": "", "error_detail": {}, "error_since": None,
        "error_notified_at": None, "last_success_at": now, "updated_at": now,
    }
    if connection.has_tokens:
        updates["status"] = SalesforceConnection.Status.CONNECTED
    SalesforceConnection.objects.filter(pk=connection.pk).update(**updates)
    connection.refresh_from_db()


def _email_admins(connection, kind, error):
    banner = errors.BANNERS[kind]
    portal = connection.portal
    recipients = list(
        Membership.objects.filter(portal=portal, role=Membership.Role.ADMIN)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if not recipients:
        return
    url = settings.SITE_URL + reverse("integrations:salesforce_settings", args=[portal.slug])
    steps = "\n".join(f"{i}. {s}" for i, s in enumerate(banner["steps"], 1))
    body = (
        f"{banner['problem']}\n\nHow to fix:\n{steps}\n\n"
        f"Salesforce said: {error.code} {error.message}\n\nSalesforce Settings: {url}\n\n"
        "You will not get another email about this problem until it is fixed."
    )
    send_mail(f"[{portal.name}] Salesforce: {banner['title']}", body, None, recipients, fail_silently=True)


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
    SalesforceConnection.objects.filter(pk=connection.pk).update(
        schema_cache=summarize(describe or None), last_checked_at=now
    )
    connection.refresh_from_db()
    if cl.problem:
        kind, code, message, fields = cl.problem
        cls = PermissionDenied if kind == errors.PERMISSIONS else MappingError
        connection_record_error(connection=connection, error=cls(message, code=code, fields=fields))
    else:
        connection_record_success(connection=connection)
    return cl


def connection_checklist(connection: SalesforceConnection | None) -> Checklist | None:
    """The checklist from the last describe (no Salesforce call), for page views."""
    if connection is None or not connection.schema_cache:
        return None
    describe = describe_from_cache(connection.schema_cache)
    return checklist(describe, mappings_for(connection.portal), connection=connection)


# --- mappings ----------------------------------------------------------------------------


class MappingRefused(Exception):
    pass


def _fresh_describe(connection) -> dict:
    try:
        describe = SalesforceClient(connection).describe_or_none(OBJECT)
    except SalesforceError as e:
        connection_record_error(connection=connection, error=e)
        raise MappingRefused(f"Could not check the field in Salesforce: {e.user_message} ({e.code})") from e
    if describe is None:
        raise MappingRefused(f"Salesforce has no {OBJECT} object; create it first (see the checklist).")
    return describe


def mapping_save(*, connection, mapping: FieldMapping | None, target_field: str, source: str, constant_value: str = "") -> FieldMapping:
    """Create or retarget a mapping after checking it against a fresh describe.

    Refuses (``MappingRefused``) a field that does not exist, is not createable, is a lookup
    or is owned by the sync, a type that would not fit, and a second mapping to the same field.
    """
    from .salesforce.schema import SYNC_OWNED, field_info

    portal = connection.portal
    target_field = target_field.strip()
    if target_field in SYNC_OWNED or target_field.lower() == connection.contact_lookup_field.lower():
        raise MappingRefused(f"ThankView fills {target_field} itself; it cannot be mapped.")
    describe = _fresh_describe(connection)
    f = field_info(describe, target_field)
    if f is None:
        raise MappingRefused(f"{OBJECT} has no field {target_field}. Check the API name (it ends in __c).")
    target_field = f["name"]  # canonical case
    clash = FieldMapping.objects.filter(portal=portal, target_field__iexact=target_field)
    if mapping is not None:
        clash = clash.exclude(pk=mapping.pk)
    other = clash.first()
    if other is not None and other.enabled:
        raise MappingRefused(f"{target_field} already has a mapping; edit that one instead.")
    problem = type_problem(source, f, constant_value=constant_value)
    if problem:
        raise MappingRefused(problem)
    with transaction.atomic():
        if other is not None:  # a removed mapping to this field: replace it
            other.delete()
        if mapping is None:
            mapping = FieldMapping(portal=portal)
        mapping.target_field = target_field
        mapping.source = source
        mapping.constant_value = constant_value if source == FieldMapping.Source.CONSTANT else ""
        mapping.enabled = True
        mapping.save()
    # The describe is fresh: re-run the checklist so a fixed mapping clears its banner.
    connection_check(connection=connection, describe=describe)
    return mapping


def mapping_remove(*, connection, mapping: FieldMapping) -> None:
    """Stop sending a field (kept as a disabled row, so the default does not come back)."""
    FieldMapping.objects.filter(pk=mapping.pk).update(enabled=False, updated_at=timezone.now())
    # Re-evaluate the banner from the cached describe: removing a mapping to a deleted
    # field fixes the problem without asking Salesforce again.
    describe = describe_from_cache(connection.schema_cache)
    if connection.schema_cache:
        connection_check(connection=connection, describe=describe or {})


def connection_tokens_rotate() -> int:
    """Re-encrypt every stored token under the first key of FIELD_ENCRYPTION_KEYS.

    Key rotation: put the new key first, run this (``manage.py rotate_salesforce_tokens``),
    then drop the old key. Returns how many connections were rewritten.
    """
    from .salesforce.crypto import rotate

    n = 0
    for conn in SalesforceConnection.objects.exclude(access_token_enc="", refresh_token_enc="").only("pk", "access_token_enc", "refresh_token_enc"):
        SalesforceConnection.objects.filter(pk=conn.pk, access_token_enc=conn.access_token_enc).update(
            access_token_enc=rotate(conn.access_token_enc), refresh_token_enc=rotate(conn.refresh_token_enc)
        )
        n += 1
    return n
