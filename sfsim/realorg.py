"""What a locked-down customer org does that a friendly one doesn't (reference §8): tokens,
approvals, object and record access, login and instance hosts.

Each behaviour is an org config switch (``/_sim/config``, ``SimControl.config``) or, for record
sharing, per-record data (``/_sim/share``, ``SimControl.hide``), so tests turn on exactly what
they need and ``STRICT`` turns them all on at once:

=================================  ==============================================================
``rotate_refresh_tokens``          each refresh grant returns a new refresh token and the one
                                   sent stops working (400 invalid_grant on reuse).
``approvals_per_user``             at most N approvals (refresh tokens) per user per connected
                                   app; the N+1th silently revokes the oldest (Salesforce: 5).
``unreadable_objects``             objects the user cannot read: SOQL ``FROM`` them answers
                                   INVALID_TYPE as for an unknown object, describe and record
                                   URLs 404, a lookup to one of their records fails per record.
hidden records (``hide``)          private sharing: a hidden record is absent from queries, its
                                   URL 404s, a lookup to it fails per record with
                                   INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY.
``refuse_converted_lead_lookups``  a lookup set to a converted Lead fails per record with
                                   CANNOT_UPDATE_CONVERTED_LEAD "cannot reference converted lead".
``deleted_lookup_code``            the per-record code of a lookup to a deleted (or merged-away)
                                   record: INVALID_CROSS_REFERENCE_KEY or ENTITY_IS_DELETED.
``instance_host``                  ``instance_url`` names this host (the org's My Domain) while
                                   the ``id`` URL stays on the login host; REST answers only on
                                   the instance host and the identity URL only on the login host.
fault ``reject_record``           a written record whose ``field`` equals ``value`` fails per record
                                   with ``code``/``message`` (e.g. FIELD_INTEGRITY_EXCEPTION, or a
                                   Lead converted between a client's query and its write).
wrong ``client_secret``            already the token endpoint's rule (``oauth.token``): 400
                                   ``invalid_client`` "invalid client credentials"; change the
                                   org's ``client_secret`` to play "ThankView's secret is wrong".
=================================  ==============================================================
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit, urlunsplit

from .errors import DmlError

# Every switch of this module at its strictest; a strict-org fixture does
# ``sim.config(**STRICT)`` and hides a record or two with ``sim.hide``.
STRICT = {
    "rotate_refresh_tokens": True,
    "approvals_per_user": 5,
    "refuse_converted_lead_lookups": True,
    "deleted_lookup_code": "ENTITY_IS_DELETED",
}

DEFAULTS = {
    "rotate_refresh_tokens": False,
    "approvals_per_user": None,
    "unreadable_objects": [],
    "refuse_converted_lead_lookups": True,  # what Salesforce always does; off only to compare
    "deleted_lookup_code": "INVALID_CROSS_REFERENCE_KEY",
    "instance_host": None,
}


def new_refresh_token() -> str:
    return "5Aep861" + secrets.token_urlsafe(64).replace("-", ".")


# --- refresh-token rotation ---------------------------------------------------------------
# Salesforce Help, "OAuth 2.0 Refresh Token Flow for Renewed Sessions": with refresh token
# rotation enabled "the connected app issues a new refresh token along with the access token
# each time the flow is invoked. The previous refresh token is automatically invalidated."
# The docs are silent on the access tokens issued from the old one; they stay valid here
# (the refresh token is what rotates), and a later revoke of the new refresh token ends them.


def rotate(org, old: str) -> str:
    """Replace refresh token ``old`` by a new one carrying the same grant; return the new one."""
    grant = org.refresh_tokens.pop(old)
    new = new_refresh_token()
    org.refresh_tokens[new] = grant
    for access in org.access_tokens.values():
        if access["refresh_token"] == old:
            access["refresh_token"] = new
    return new


# --- five approvals per user per connected app ----------------------------------------------
# Salesforce Help, "Manage OAuth Access for Your Connected Apps" (as quoted in Oracle's
# "Error When a Connected Application Attempts to Access Your Salesforce Data"): "Every
# connected application permits five distinctive approvals per user. Once a sixth approval is
# created, the oldest approval is revoked." Nothing tells the client: its refresh token simply
# stops working (invalid_grant "expired access/refresh token" at its next refresh).


def approve(org, refresh_token: str) -> None:
    """Record a new approval (the authorization-code grant that issued ``refresh_token``) and
    revoke the oldest ones beyond the cap. The simulated org has one user, so every approval
    of a client id is the same user's."""
    grant = org.refresh_tokens[refresh_token]
    org.approvals = [g for g in org.approvals if any(g is live for live in org.refresh_tokens.values())]
    org.approvals.append(grant)
    cap = org.config.get("approvals_per_user")
    mine = [g for g in org.approvals if g["client_id"] == grant["client_id"]]
    while cap and len(mine) > cap:
        oldest = mine.pop(0)
        org.approvals.remove(oldest)
        for tok in [t for t, g in org.refresh_tokens.items() if g is oldest]:
            revoke_refresh(org, tok)


def revoke_refresh(org, token: str) -> None:
    """A refresh token and every access token issued from it stop working (§1.7)."""
    org.refresh_tokens.pop(token, None)
    for access in [a for a, g in org.access_tokens.items() if g["refresh_token"] == token]:
        del org.access_tokens[access]


# --- objects and records the user cannot see -------------------------------------------------
# The REST API Developer Guide's error list has no separate code for "no read access": a query
# of an object the user cannot read answers INVALID_TYPE "sObject type 'Lead' is not
# supported", as for an object that does not exist (recorded query errors, reference §8).
# Record sharing: rows the user cannot see are absent from query results ("Record-Level
# Access: Under the Hood"), and a lookup set to one fails per record with
# INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY "insufficient access rights on cross-reference
# id" (recorded in client issue threads; the docs list the code, not this case).


def unreadable(org, obj) -> bool:
    names = {n.lower() for n in org.config.get("unreadable_objects") or []}
    return obj is not None and obj.name.lower() in names


def visible(org, rec) -> bool:
    return rec.id[:15] not in org.hidden


def reference_error(org, f, target, rec) -> DmlError | None:
    """Why a lookup ``f`` may not point at ``rec`` (of ``target``) for this user, if it may not.

    Salesforce Help 000384333 (converted Leads): a converted Lead cannot be referenced in a
    lookup: CANNOT_UPDATE_CONVERTED_LEAD "cannot reference converted lead". The docs are silent
    on ``fields`` for these three errors; they are left empty, so a client cannot lean on them.
    """
    if rec.deleted:
        code = org.config.get("deleted_lookup_code") or "INVALID_CROSS_REFERENCE_KEY"
        return DmlError(code, "entity is deleted" if code == "ENTITY_IS_DELETED" else "invalid cross reference id", [])
    if unreadable(org, target) or not visible(org, rec):
        return DmlError("INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
                        f"insufficient access rights on cross-reference id: {rec.id}", [])
    if (org.config.get("refuse_converted_lead_lookups") and target.name == "Lead"
            and rec.values.get("IsConverted")):
        return DmlError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", [])
    return None


# --- login host and instance host ----------------------------------------------------------
# Salesforce Help, "OAuth 2.0 Web Server Flow for Web App Integration" (token response):
# ``instance_url`` is the org's My Domain URL where API calls go, ``id`` is the identity URL,
# "https://login.salesforce.com/id/orgID/userID" on the login host. The docs do not say what
# the login host answers to a REST call, nor whether the instance serves the identity URL: here
# both are refused (401 INVALID_SESSION_ID, 403 Bad_Id), so a client that derives one URL from
# the other fails loudly.


def instance_url(org) -> str:
    host = org.config.get("instance_host")
    if not host:
        return org.base_url
    parts = urlsplit(org.base_url)
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, f"{host}{port}", "", "", ""))


def _host(req) -> str:
    return (req.header("host") or "").rsplit(":", 1)[0].strip("[]").lower()


def on_instance_host(org, req) -> bool:
    host = org.config.get("instance_host")
    return not host or _host(req) == host.lower()


def on_login_host(org, req) -> bool:
    host = org.config.get("instance_host")
    return not host or _host(req) != host.lower()


# --- a record refused for its own reasons ---------------------------------------------------
# Validation-type refusals the simulator has no model for (lookup filters answer
# FIELD_INTEGRITY_EXCEPTION; a Lead converted between a query and a write answers
# CANNOT_UPDATE_CONVERTED_LEAD): the fault ``reject_record`` fails the matching records.


def rejected(org, obj, values: dict) -> DmlError | None:
    fault = org.faults.peek("reject_record")
    if fault is None:
        return None
    opts = fault.opts
    if (opts.get("object") or obj.name).lower() != obj.name.lower():
        return None
    if "field" in opts and values.get(opts["field"]) != opts.get("value"):
        return None
    org.faults.take("reject_record")
    return DmlError(opts.get("code") or "FIELD_INTEGRITY_EXCEPTION", opts.get("message") or "field integrity exception",
                    list(opts.get("fields") or []))
