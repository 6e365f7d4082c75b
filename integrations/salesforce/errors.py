"""Every Salesforce failure, classified once: our exception classes, the words the user sees
for each, and the readers of Salesforce's error shapes.

Each class says whether retrying can help (``permanent``), which banner of the guide's
"Error Messages and Fixes" it raises (``kind``) and how a sync run that it stops ends
(``run_outcome``). The banner texts below are the guide's "How to fix" steps; the raw
Salesforce code and message are only ever shown as *detail*.

Salesforce reports failures in four shapes, each read here and nowhere else:

1. a REST error answer (a JSON array of ``{errorCode, message, fields}``, reference §2.1):
   ``response_error`` (the client raises it, chained with ``raise ... from``);
2. a record's errors inside an sObject Collections answer: ``record_errors``;
3. a Bulk API 2.0 result row's ``sf__Error`` cell: ``bulk_row_error``; a failed job:
   ``bulk_job_error``;
4. a refused update that means the record itself is gone: ``record_gone``.
"""

from __future__ import annotations

import re
from typing import Any

from ..models import SyncRun

Outcome = SyncRun.Outcome

# Banner kinds. The first four are stored on SalesforceConnection.error_kind; "invalid_id"
# is computed from contacts (Contact.donor_id_status == "invalid").
SESSION_EXPIRED = "session_expired"
PERMISSIONS = "permissions"
MAPPING = "mapping"
CONNECTION = "connection"
INVALID_ID = "invalid_id"
# Not one of the guide's five: Salesforce refused ThankView's own connected-app credentials.
# The customer can do nothing about it, so its notice is neutral and names no fix.
SERVICE = "service"
STORED_KINDS = (SESSION_EXPIRED, PERMISSIONS, MAPPING, CONNECTION, SERVICE)

# The guide's five banners: title, problem, "How to fix" steps; "short" is the one line that
# pages other than Integrations & APIs and Sync health show instead of the card. Rendered by
# templates/integrations/_banners.html; "{settings_url}" etc. are filled by the template.
BANNERS = {
    SESSION_EXPIRED: {
        "title": "Session or Connection Expired",
        "short": "ThankView cannot sync until you reconnect.",
        "problem": (
            "Your Salesforce authorization token has expired or been revoked. This often "
            "happens after a password change or a long period of inactivity."
        ),
        "steps": [
            "Go to ThankView → Integrations & APIs.",
            "Click Reconnect on this banner.",
            "Log in with your Salesforce credentials and click Authorize.",
        ],
        "tip": (
            "If the error persists, ask your Salesforce admin to confirm your user account is "
            "still active and that the “Connected App” access for ThankView hasn't been revoked."
        ),
    },
    PERMISSIONS: {
        "title": "Insufficient Permissions or API Access Disabled",
        "short": "The connected Salesforce user cannot exchange data with ThankView.",
        "problem": (
            "The user account connected to ThankView lacks the necessary clearance to exchange "
            "data, or your Salesforce edition has disabled API access entirely. Required: "
            "“API Enabled” on the user profile, and read/write access to Contact, Account and "
            "the ThankView__c custom object."
        ),
        "steps": [
            "Contact your Salesforce admin to verify these settings under Setup → Users.",
            "Ensure the “API Enabled” box is checked for your profile.",
        ],
        "tip": (
            "Some versions, like Salesforce Group Edition, do not include API access by default. "
            "You may need to contact Salesforce to discuss an upgrade if this is the case."
        ),
    },
    MAPPING: {
        "title": "Mapping Error: Missing or Deleted Field",
        "short": "A mapped field was renamed or deleted, or a required field has no mapping.",
        "problem": (
            "A field used in your ThankView mapping was renamed or deleted in Salesforce, or "
            "Salesforce now requires a field that ThankView isn't sending."
        ),
        "steps": [
            ("If a field no longer exists: note the field name below, go to Integrations & APIs → "
            "Salesforce Settings and update or remove that mapping."),
            ("If a required field is missing: add a mapping for it in Salesforce Settings, or ask "
            "your Salesforce admin to make that field optional."),
        ],
        "tip": "",
    },
    INVALID_ID: {
        "title": "Invalid Salesforce ID",
        "short": "",
        "problem": (
            "One or more contacts have a Salesforce ID (Donor ID) that doesn't match the required "
            "format, so they cannot be matched to Salesforce records."
        ),
        "steps": [
            ("Valid IDs are 15 or 18 characters long, letters and digits, and start with the "
            "record's prefix (Contact IDs begin with 003). Numeric-only IDs such as 1004422 are invalid."),
            ("Open the affected contacts and either clear the ID or update it to the correct "
            "15/18-character ID from Salesforce."),
        ],
        "tip": "",
    },
    CONNECTION: {
        "title": "Unable to Connect to Salesforce",
        "short": "ThankView cannot reach Salesforce's servers; it keeps trying.",
        "problem": (
            "ThankView cannot reach Salesforce's servers. This is usually a temporary network "
            "issue or a Salesforce-wide outage."
        ),
        "steps": [
            "Wait: refresh the page after 15–30 minutes.",
            "Check status.salesforce.com for ongoing service disruptions.",
            "If the issue lasts more than 24 hours, try disconnecting and reconnecting the integration.",
            "If the problem persists, reach out to us at support@thankview.com.",
        ],
        "tip": "",
    },
    SERVICE: {
        "title": "ThankView can't reach Salesforce right now; we're on it",
        "short": "The problem is on ThankView's side; your connection stays as it is.",
        "problem": (
            "The problem is on ThankView's side, not in your Salesforce org. Our team has been told. "
            "Your connection stays as it is, and the sync picks up where it left off once it is fixed."
        ),
        "steps": [],
        "tip": "",
    },
}


class SalesforceError(Exception):
    """A failed Salesforce call, classified.

    ``code``/``message``/``fields`` are Salesforce's own (errorCode, message, fields) or, for
    transport failures, ours; ``status`` the HTTP status (None if no response arrived).
    """

    kind = ""  # banner kind; "" = no banner (recorded as the last error only)
    permanent = True
    user_message = "Salesforce refused the request."
    run_outcome = Outcome.ERROR  # how a sync run that this error stops ends

    def __init__(self, message="", *, code="", fields=None, status=None):
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code
        self.message = message
        self.fields = list(fields or [])
        self.status = status

    def detail(self) -> dict:
        return {"code": self.code, "message": self.message, "fields": self.fields, "status": self.status}


class SessionExpired(SalesforceError):
    """The refresh grant was refused (``invalid_grant``): only Reconnect helps."""

    kind = SESSION_EXPIRED
    user_message = "Your Salesforce session has expired or was revoked. Reconnect to Salesforce."
    run_outcome = Outcome.SESSION_EXPIRED


class PermissionDenied(SalesforceError):
    """API disabled for the org/user, or no access to an object (INSUFFICIENT_ACCESS*)."""

    kind = PERMISSIONS
    user_message = "The connected Salesforce user lacks API access or permissions on ThankView__c."
    run_outcome = Outcome.PERMISSIONS


class ObjectNotReadable(PermissionDenied):
    """A query ``FROM`` an object the connected user cannot read (``INVALID_TYPE``).

    Salesforce answers exactly as for an object that does not exist: ``sObject type 'Lead' is
    not supported`` (REST API Developer Guide, "Status Codes and Error Responses" lists
    INVALID_TYPE; the wording is the same in recorded answers, reference §8). For a standard
    object such as Lead, which every org has, it means missing read access.
    """

    def __init__(self, message="", *, object_name="", **kw):
        super().__init__(message, **kw)
        self.object_name = object_name


class MappingError(SalesforceError):
    """A mapped field is gone (INVALID_FIELD) or a required one is not sent (REQUIRED_FIELD_MISSING)."""

    kind = MAPPING
    user_message = "A mapped Salesforce field is missing, or Salesforce requires a field ThankView isn't sending."
    run_outcome = Outcome.MAPPING


class InvalidId(SalesforceError):
    """A record id Salesforce does not accept here (MALFORMED_ID, INVALID_CROSS_REFERENCE_KEY)."""

    kind = INVALID_ID
    user_message = "Salesforce rejected a record id."


class RateLimited(SalesforceError):
    """REQUEST_LIMIT_EXCEEDED: the org's API allowance is used up; stop and try next run."""

    kind = ""
    permanent = False
    user_message = "Salesforce's daily API request limit for your org is used up; the sync resumes later."
    run_outcome = Outcome.RATE_LIMITED


class Unavailable(SalesforceError):
    """Connection errors, timeouts, 5xx, lock contention: transient, retried with backoff."""

    kind = CONNECTION
    permanent = False
    user_message = "ThankView could not reach Salesforce."
    run_outcome = Outcome.UNAVAILABLE


class NotFound(SalesforceError):
    """404 NOT_FOUND (e.g. describe of an object that does not exist)."""

    user_message = "Salesforce says the requested resource does not exist."


class OAuthFailed(SalesforceError):
    """The authorization-code exchange or identity lookup failed during Connect."""

    user_message = "Salesforce did not complete the connection."


class AppCredentialsRefused(SalesforceError):
    """The token endpoint refused ThankView's consumer key or secret (``invalid_client_id``,
    ``invalid_client``): our configuration, not the customer's. The connection is neither
    expired nor to be reconnected; operators fix the secret and the next run works."""

    kind = SERVICE
    permanent = False
    user_message = "ThankView can't reach Salesforce right now; we're on it."
    run_outcome = Outcome.UNAVAILABLE


# The token endpoint's errors (reference §1.6; Salesforce Help "OAuth 2.0 Authorization
# Errors"): a wrong consumer key answers invalid_client_id "client identifier invalid", a wrong
# secret invalid_client "invalid client credentials"; a revoked or expired refresh token, an
# approval dropped by the five-per-user cap or an inactive user answer invalid_grant.
APP_CREDENTIAL_ERRORS = {"invalid_client_id", "invalid_client"}
GRANT_REFUSED_ERRORS = {"invalid_grant", "inactive_user"}


def token_error(error: str, description: str, *, refreshing: bool) -> SalesforceError:
    """Our exception for an error answer of the token endpoint (a refresh or a code exchange)."""
    if error in APP_CREDENTIAL_ERRORS:
        return AppCredentialsRefused(description, code=error, status=400)
    if refreshing and error in GRANT_REFUSED_ERRORS:
        return SessionExpired(description, code=error, status=400)
    return OAuthFailed(description, code=error, status=400)


# Salesforce errorCode → class (reference §3.2). Anything unlisted is a plain SalesforceError.
CODE_CLASSES = {
    "INVALID_SESSION_ID": SessionExpired,
    "API_DISABLED_FOR_ORG": PermissionDenied,
    "API_CURRENTLY_DISABLED": PermissionDenied,
    "INSUFFICIENT_ACCESS": PermissionDenied,
    "INSUFFICIENT_ACCESS_OR_READONLY": PermissionDenied,
    "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY": PermissionDenied,
    "INVALID_FIELD": MappingError,
    "INVALID_FIELD_FOR_INSERT_UPDATE": MappingError,
    "REQUIRED_FIELD_MISSING": MappingError,
    "MALFORMED_ID": InvalidId,
    "INVALID_CROSS_REFERENCE_KEY": InvalidId,
    "INVALID_ID_FIELD": InvalidId,
    "REQUEST_LIMIT_EXCEEDED": RateLimited,
    "UNABLE_TO_LOCK_ROW": Unavailable,
    "SERVER_UNAVAILABLE": Unavailable,
    "NOT_FOUND": NotFound,
}


def error_for(code: str, message: str = "", *, fields=None, status=None) -> SalesforceError:
    """The exception for a Salesforce errorCode; prefix match for INSUFFICIENT_ACCESS*."""
    cls = CODE_CLASSES.get(code)
    if cls is None and code.startswith("INSUFFICIENT_ACCESS"):
        cls = PermissionDenied
    if cls is None and status is not None and status >= 500:
        cls = Unavailable
    return (cls or SalesforceError)(message, code=code, fields=fields, status=status)


# --- 1. REST error answers ----------------------------------------------------------------


def _first_error(content: Any) -> tuple[str, str, list[str] | None]:
    """(errorCode, message, fields) of a REST error body (always a JSON array, §2.1)."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        e = content[0]
        return e.get("errorCode") or e.get("statusCode") or "", e.get("message", ""), e.get("fields")
    if isinstance(content, dict):  # OAuth-style or unexpected shapes
        code = content.get("error") or content.get("errorCode") or ""
        return code, content.get("error_description") or content.get("message", ""), None
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return "", str(content or "")[:500], None


_NOT_SUPPORTED = re.compile(r"sObject type '(\w+)' is not supported")


def response_error(status: int, content: Any) -> SalesforceError:
    """Our exception for an HTTP error answer from the REST or Bulk API."""
    code, message, fields = _first_error(content)
    if status >= 500 and code != "REQUEST_LIMIT_EXCEEDED":
        return Unavailable(message or f"Salesforce answered HTTP {status}.", code=code or f"HTTP_{status}", fields=fields, status=status)
    if not code:
        code = {401: "INVALID_SESSION_ID", 403: "FORBIDDEN", 404: "NOT_FOUND"}.get(status, f"HTTP_{status}")
    if code == "INVALID_TYPE":
        m = _NOT_SUPPORTED.search(message or "")
        if m:
            return ObjectNotReadable(message, code=code, fields=fields, status=status, object_name=m.group(1))
    err = error_for(code, message, fields=fields, status=status)
    if type(err) is SalesforceError and status == 403:
        err = PermissionDenied(message, code=code, fields=fields, status=status)
    return err


# --- 2. per-record errors of sObject Collections ------------------------------------------


# Per-record errors about that one record's data or its lookup's target, never about the
# user's access as a whole: the send keeps the error, the run goes on, no banner.
# - INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY: the lookup's target is hidden from the user
#   by sharing (reference §8);
# - CANNOT_UPDATE_CONVERTED_LEAD and the other CANNOT_* codes: the target's state forbids it
#   ("cannot reference converted lead", Salesforce Help 000384333);
# - FIELD_INTEGRITY_EXCEPTION: a value this record may not hold (e.g. a lookup filter).
RECORD_ONLY_CODES = {"INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", "FIELD_INTEGRITY_EXCEPTION"}


def record_error(code: str, message: str = "", *, fields=None) -> SalesforceError:
    """Our exception for one record's error in a write answer (Collections or Bulk): a
    record-only error never raises a banner; the rest are classified as whole-call errors are."""
    if code in RECORD_ONLY_CODES or code.startswith("CANNOT_"):
        return SalesforceError(message, code=code, fields=fields)
    return error_for(code, message, fields=fields)


def record_errors(raw: list[dict] | None) -> list[tuple[str, str, list[str]]]:
    """(code, message, fields) of each error of one record in a Collections answer (§2.7)."""
    return [
        (e.get("statusCode") or e.get("errorCode") or "", e.get("message", ""), list(e.get("fields") or []))
        for e in (raw or [])
    ]


# --- 3. Bulk API 2.0 -------------------------------------------------------------------------


def bulk_row_error(cell: str) -> tuple[str, str, list[str]]:
    """``sf__Error`` → (code, message, fields). ``CODE:message:F1,F2 --`` or ``CODE:message:--``
    (reference §2.9; the message itself may contain colons)."""
    text = (cell or "").strip()
    fields: list[str] = []
    if text.endswith(":--"):
        body = text[:-3]
    elif text.endswith(" --") and ":" in text:
        body, _, tail = text[:-3].rpartition(":")
        fields = [f.strip() for f in tail.split(",") if f.strip()]
    else:
        body = text
    code, _, message = body.partition(":")
    return code.strip(), message.strip(), fields


def bulk_job_error(info: dict) -> SalesforceError:
    """The error of a Bulk job that ended in a state other than JobComplete (its ``info``)."""
    message = info.get("errorMessage") or f"Bulk API job {info.get('id')} ended in state {info.get('state')}."
    if "Field name not found" in message or ("InvalidBatch" in message and "field" in message.lower()):
        return error_for("INVALID_FIELD", message)
    return SalesforceError(message, code=f"BULK_JOB_{str(info.get('state') or 'FAILED').upper()}")


# --- 4. a refused update: is the record gone? --------------------------------------------

# Update errors that mean the record itself is gone from Salesforce (reference §2.6, §3.2).
RECORD_GONE_CODES = {"ENTITY_IS_DELETED", "NOT_FOUND", "INVALID_CROSS_REFERENCE_KEY"}


def is_lookup_error(errors: list[tuple[str, str, list[str]]]) -> bool:
    """True when an error points at a lookup field (the Contact is gone), not the record."""
    return any(f and f != "Id" for _, _, fields in errors for f in fields)


# Codes an update answers both for "this record is deleted" and for "the record a lookup you
# set is deleted or was merged away"; with an empty ``fields`` the two cannot be told apart.
AMBIGUOUS_GONE_CODES = {"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"}


def record_gone(errors: list[tuple[str, str, list[str]]], *, relinked: bool = False) -> bool:
    """True when an update was refused because the record was deleted in Salesforce: the
    writers then create it again. A refused lookup (its Contact is gone) is not that, nor is
    an ambiguous refusal of an update that also set a lookup (``relinked``): its target may be
    the deleted one, and re-creating over a record that still exists would make a duplicate."""
    codes = {code for code, _, _ in errors}
    if not codes & RECORD_GONE_CODES or is_lookup_error(errors):
        return False
    return not (relinked and codes <= AMBIGUOUS_GONE_CODES)
