"""Field mappings: which ``ThankView__c`` field gets which value.

- ``DEFAULT_MAPPINGS``: every engagement field of the guide's table → its source. The
  lookups (``Contact__c`` / ``Lead__c``) are not mappings: the sync sets them from the match.
- ``mappings_for(portal)``: the portal's enabled mappings; the defaults are written on first
  use, so a removed mapping stays removed (it is kept, disabled). ``mappings_shown`` is the
  settings page's table.
- ``type_problem(source, describe_field)``: why a source cannot go into a field (exists,
  createable, type compatible), or "" when it can. Forms and the checklist both use it.
- ``build_values(mappings, *, send, campaign, contact, state)``: the field → JSON value dict
  of one record (datetimes ISO-8601 in UTC, booleans, numbers, strings).

Saving and removing a mapping from the settings page is ``mapping_changes.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.dateparse import parse_date, parse_datetime

from ..models import FieldMapping

S = FieldMapping.Source

DEFAULT_MAPPINGS: dict[str, str] = {
    "Event_Name__c": S.CAMPAIGN_NAME,
    "Sent_Date__c": S.SEND_SENT_AT,
    "Opened__c": S.STATE_OPENED,
    "Clicked__c": S.STATE_CLICKED,
    "Started_Watching__c": S.STATE_STARTED_WATCHING,
    "Finished_Watching__c": S.STATE_FINISHED_WATCHING,
    "CTA_Clicked__c": S.STATE_CTA_CLICKED,
    "Downloaded__c": S.STATE_DOWNLOADED,
    "Shared__c": S.STATE_SHARED,
    "Bounced__c": S.STATE_BOUNCED,
    "Unsubscribed__c": S.STATE_UNSUBSCRIBED,
    "Views__c": S.STATE_VIEWS,
    "Url__c": S.SEND_LANDING_URL,
    "Video_Url__c": S.CAMPAIGN_VIDEO_URL,
    "Text_Reply__c": S.STATE_TEXT_REPLY_255,
    "Video_Reply__c": S.STATE_VIDEO_REPLY,
}

# The value kind each source produces; compared with describe's field type.
SOURCE_KINDS: dict[str, str] = {
    S.CAMPAIGN_NAME: "string",
    S.CAMPAIGN_VIDEO_URL: "url",
    S.CAMPAIGN_CTA_LABEL: "string",
    S.CAMPAIGN_CTA_URL: "url",
    S.SEND_SENT_AT: "datetime",
    S.SEND_LANDING_URL: "url",
    S.SEND_TOKEN: "string",
    S.STATE_OPENED: "boolean",
    S.STATE_CLICKED: "boolean",
    S.STATE_STARTED_WATCHING: "boolean",
    S.STATE_FINISHED_WATCHING: "boolean",
    S.STATE_CTA_CLICKED: "boolean",
    S.STATE_DOWNLOADED: "boolean",
    S.STATE_SHARED: "boolean",
    S.STATE_BOUNCED: "boolean",
    S.STATE_UNSUBSCRIBED: "boolean",
    S.STATE_VIEWS: "number",
    S.STATE_TEXT_REPLY_255: "string",
    S.STATE_VIDEO_REPLY: "url",
    S.STATE_LAST_ACTIVITY_AT: "datetime",
    S.CONTACT_DONOR_ID: "string",
    S.CONTACT_EMAIL: "email",
    S.CONTACT_FIRST_NAME: "string",
    S.CONTACT_LAST_NAME: "string",
    S.CONSTANT: "constant",
}

# Sources that are blank for some sends (no CTA, no reply, a contact without a name...): a
# required field mapped to one cannot be filled for those sends (schema.py warns).
CAN_BE_BLANK = {
    S.CAMPAIGN_CTA_LABEL, S.CAMPAIGN_CTA_URL, S.STATE_TEXT_REPLY_255, S.STATE_VIDEO_REPLY, S.STATE_LAST_ACTIVITY_AT,
    S.CONTACT_DONOR_ID, S.CONTACT_FIRST_NAME, S.CONTACT_LAST_NAME,
}

_TEXTUAL = {"string", "textarea"}
# describe field type → the source kinds it accepts.
COMPATIBLE: dict[str, set[str]] = {
    "boolean": {"boolean"},
    "double": {"number"},
    "int": {"number"},
    "currency": {"number"},
    "percent": {"number"},
    "datetime": {"datetime"},
    "date": {"datetime"},
    "url": {"url"},
    "email": {"email"},
    "string": {"string", "url", "email", "number", "datetime"},
    "textarea": {"string", "url", "email", "number", "datetime"},
    "phone": {"string"},
    "picklist": {"string"},
}
# Constants can go into these describe types (parsed per type).
CONSTANT_TYPES = {"boolean", "double", "int", "currency", "percent", "datetime", "date", "url", "email", "string", "textarea", "phone", "picklist"}


@transaction.atomic
def mappings_for(portal) -> list[FieldMapping]:
    """The portal's enabled mappings, writing the defaults the first time."""
    if not FieldMapping.objects.filter(portal=portal).exists():
        FieldMapping.objects.bulk_create(
            [FieldMapping(portal=portal, target_field=t, source=s) for t, s in DEFAULT_MAPPINGS.items()],
            ignore_conflicts=True,
        )
    return list(FieldMapping.objects.filter(portal=portal, enabled=True).order_by("id"))


def mappings_shown(portal, connection) -> list[FieldMapping]:
    """The settings page's mapping table: the enabled mappings, none before a connection.
    Once the object has been checked, a portal without any mapping row gets the defaults."""
    if connection is None:
        return []
    mappings = list(FieldMapping.objects.filter(portal=portal, enabled=True).order_by("id"))
    if connection.schema_cache and not mappings and not FieldMapping.objects.filter(portal=portal).exists():
        mappings = mappings_for(portal)
    return mappings


def constant_parse(value: str, field_type: str):
    """The JSON value of a constant for a field of ``field_type``; ValueError if it can't be."""
    v = (value or "").strip()
    parse = _CONSTANT_PARSERS.get(field_type)
    return parse(v) if parse else v


def _boolean(v: str) -> bool:
    low = v.lower()
    if low in ("true", "yes", "1"):
        return True
    if low in ("false", "no", "0"):
        return False
    raise ValueError("Enter true or false for a checkbox field.")


def _decimal(v: str) -> Decimal:
    try:
        d = Decimal(v)
    except InvalidOperation:
        raise ValueError("Enter a number.") from None
    if not d.is_finite():
        raise ValueError("Enter a number.")
    return d


def _int(v: str) -> int:
    d = _decimal(v)
    if d != d.to_integral_value():
        raise ValueError("Enter a whole number.")
    return int(d)


def _datetime(v: str) -> str:
    dt = parse_datetime(v)
    if dt is None:
        raise ValueError("Enter a date and time like 2025-01-31T09:00:00Z.")
    return _iso(dt)


def _date(v: str) -> str:
    d = parse_date(v)
    if d is None:
        raise ValueError("Enter a date like 2025-01-31.")
    return d.isoformat()


def _url(v: str) -> str:
    if v and not v.startswith(("https://", "http://")):
        raise ValueError("Enter a URL starting with https://.")
    return v


def _email(v: str) -> str:
    if v and "@" not in v:
        raise ValueError("Enter an email address.")
    return v


# describe field type -> how a constant for it is read; other types take the text as is.
_CONSTANT_PARSERS = {
    "boolean": _boolean,
    "double": lambda v: float(_decimal(v)),
    "currency": lambda v: float(_decimal(v)),
    "percent": lambda v: float(_decimal(v)),
    "int": _int,
    "datetime": _datetime,
    "date": _date,
    "url": _url,
    "email": _email,
}


def type_problem(source: str, f: dict, *, constant_value: str = "") -> str:
    """Why ``source`` cannot be written into describe field ``f`` ("" when it can)."""
    name, ftype = f.get("name", "?"), f.get("type", "?")
    if f.get("calculated") or f.get("autoNumber") or not f.get("createable"):
        return f"{name} cannot be written (it is read-only for the connected user, a formula or an auto-number)."
    if ftype == "reference":
        return f"{name} is a lookup; ThankView sets lookups itself."
    kind = SOURCE_KINDS.get(source)
    if kind is None:
        return f"Unknown source “{source}”."
    if kind == "constant":
        if ftype not in CONSTANT_TYPES:
            return f"A constant cannot go into {name} (a {ftype} field)."
        try:
            value = constant_parse(constant_value, ftype)
        except ValueError as e:
            return f"{name} is a {ftype} field: {e}"
        length = f.get("length") or 0
        if isinstance(value, str) and length and len(value) > length:
            return f"{name} holds at most {length} characters."
        return ""
    if kind not in COMPATIBLE.get(ftype, set()):
        return f"{name} is a {ftype} field; a {kind} value ({S(source).label}) cannot go into it."
    return ""


def _iso(dt: datetime) -> str:
    """ISO-8601 in UTC with milliseconds and Z, a format Salesforce accepts (reference §6)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json(value, field_type: str | None = None):
    if isinstance(value, datetime):
        if field_type == "date":
            return value.astimezone(UTC).date().isoformat()
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and field_type in _TEXTUAL:
        return str(value)
    return value


def source_value(source: str, *, send, campaign, contact, state):
    obj_name, _, attr = source.partition(".")
    obj = {"send": send, "campaign": campaign, "contact": contact, "state": state}.get(obj_name)
    if obj is None:
        return None
    value = getattr(obj, attr, None)
    return value() if callable(value) else value


def build_values(mappings, *, send, campaign, contact, state, field_types: dict[str, str] | None = None) -> dict:
    """The ``ThankView__c`` field values of one send, as Salesforce JSON types.

    ``field_types`` (field name → describe type, e.g. from ``connection.schema_cache``)
    lets constants and numbers be typed for their target; without it constants are sent
    as text.
    """
    types = {k.lower(): v for k, v in (field_types or {}).items()}
    values = {}
    for m in mappings:
        if not m.enabled:
            continue
        ftype = types.get(m.target_field.lower())
        if m.source == S.CONSTANT:
            try:
                values[m.target_field] = constant_parse(m.constant_value, ftype or "string")
            except ValueError:
                values[m.target_field] = m.constant_value
            continue
        value = source_value(m.source, send=send, campaign=campaign, contact=contact, state=state)
        values[m.target_field] = _json(value, ftype)
    return values


def field_types_from_cache(schema_cache: dict) -> dict[str, str]:
    return {name: info.get("type") for name, info in (schema_cache or {}).get("fields", {}).items()}
