"""Recording engagement events: one from a recipient page, one by token (the open pixel),
a batch from the API; and their effect on contacts (unsubscribed, bounced).

Events are only ever inserted (no update or delete path exists); the state of a send is
derived from them by ``engagement.state.send_state``.
"""

import json
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from contacts.models import Contact

from ..models import EngagementEvent, EventType, Send
from ..selectors import TOKEN_RE
from .validation import FUTURE_TOLERANCE, parse_timestamp, unstorable, url_problem

EVENT_TYPES = frozenset(EventType.values)
MAX_BATCH = 1000  # events per POST /api/v1/events
MAX_TEXT_REPLY = 5000  # characters kept of a text reply (Salesforce gets the first 255)


def event_record(*, send, type, occurred_at=None, data=None):
    """Store one event of a send (recipient pages, webhooks) and apply its side effects."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    now = timezone.now()
    event = EngagementEvent.objects.create(
        send=send, type=type, occurred_at=occurred_at or now, received_at=now, data=data or {}
    )
    _contacts_apply([(send.contact_id, type)], at=now)
    return event


def event_record_by_token(*, token, type, data=None):
    """Store an event for the send with ``token`` in ONE query; True if the send exists.

    The open pixel is the hottest endpoint (every email client that loads images hits it),
    so it neither loads the send nor runs a second query: ``INSERT ... SELECT`` resolves
    the token and writes the event in one statement, committed asynchronously.
    """
    if type not in EVENT_TYPES or type in _CONTACT_EFFECTS:
        raise ValueError(f"event type {type!r} cannot be recorded by token")
    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        return False
    now = timezone.now()
    events, sends = EngagementEvent._meta.db_table, Send._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        # Asynchronous commit: this transaction does not wait for its WAL flush, which
        # otherwise dominates the request (about 5 ms per open on the dev machine's disk).
        # A crash of the database server can lose the last fraction of a second of opens,
        # never corrupt anything; for a tracking pixel that is the right trade.
        # https://www.postgresql.org/docs/current/wal-async-commit.html
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(
            f"INSERT INTO {events} (send_id, type, occurred_at, received_at, data) "
            f"SELECT id, %s, %s, %s, %s FROM {sends} WHERE token = %s",
            [type, now, now, json.dumps(data or {}), token],
        )
        return cursor.rowcount == 1


@dataclass
class IngestResult:
    stored: int = 0
    errors: list = field(default_factory=list)  # [{"index": i, "reason": "..."}]


def events_ingest(*, portal, items):
    """Store a batch of API events of ``portal``; good items are kept, bad ones reported.

    1. Each item is checked on its own (shape, type, date, text/url); a bad item is
       reported by index with a reason and nothing of it is stored.
    2. The send ids of all good items are resolved in ONE query, scoped to the portal: a
       send of another portal is "not found", exactly like one that does not exist.
    3. The events are written with one bulk INSERT; unsubscribe and bounce events then
       mark their contacts (one UPDATE per type).
    """
    result = IngestResult()
    if not isinstance(items, list):
        result.errors.append({"index": None, "reason": "The body must be a list of events or {\"events\": [...]}."})
        return result
    if len(items) > MAX_BATCH:
        result.errors.append({"index": None, "reason": f"A batch holds at most {MAX_BATCH} events; got {len(items)}."})
        return result
    now = timezone.now()
    pending = []  # (index, send_id, type, occurred_at, data)
    for index, item in enumerate(items):
        cleaned = _event_item_clean(item, now)
        if isinstance(cleaned, str):
            result.errors.append({"index": index, "reason": cleaned})
        else:
            pending.append((index, *cleaned))

    wanted = {p[1] for p in pending}
    known = dict(
        Send.objects.filter(pk__in=wanted, campaign__portal=portal).values_list("pk", "contact_id")
    ) if wanted else {}
    rows, effects = [], []
    for index, send_id, type_, occurred_at, data in pending:
        if send_id not in known:
            result.errors.append({"index": index, "reason": f"send_id {send_id} not found."})
            continue
        rows.append(EngagementEvent(send_id=send_id, type=type_, occurred_at=occurred_at, received_at=now, data=data))
        if type_ in _CONTACT_EFFECTS:
            effects.append((known[send_id], type_))
    if rows:
        with transaction.atomic():
            EngagementEvent.objects.bulk_create(rows, batch_size=1000)
            _contacts_apply(effects, at=now)
    result.stored = len(rows)
    result.errors.sort(key=lambda e: e["index"])
    return result


def _event_item_clean(item, now):
    """``(send_id, type, occurred_at, data)`` or a reason string."""
    if not isinstance(item, dict):
        return "Each event must be an object."
    send_id = item.get("send_id")
    if isinstance(send_id, bool) or not isinstance(send_id, int) or not 0 < send_id < 2**63:
        return "send_id must be a positive integer."
    type_ = item.get("type")
    if not isinstance(type_, str) or type_ not in EVENT_TYPES:
        return f"type must be one of: {', '.join(sorted(EVENT_TYPES))}."
    occurred_at = item.get("occurred_at")
    if occurred_at is None:
        occurred_at = now
    else:
        occurred_at = parse_timestamp(occurred_at)
        if isinstance(occurred_at, str):
            return occurred_at
        if occurred_at > now + FUTURE_TOLERANCE:
            return "occurred_at is in the future."
    data = _event_extras(item, type_)
    if isinstance(data, str):
        return data
    return send_id, type_, occurred_at, data


def _event_extras(item, type_):
    """The event's ``data`` (the reply's text or link), or a reason string.

    text and url are checked whenever they are given (null means not given, as the API
    schema says); each is stored only with the event type it belongs to.
    """
    data = {}
    if type_ == EventType.TEXT_REPLY or item.get("text") is not None:
        reason = _text_problem(item.get("text"), required=type_ == EventType.TEXT_REPLY)
        if reason:
            return reason
        if type_ == EventType.TEXT_REPLY:
            data["text"] = item["text"].strip()
    if type_ == EventType.VIDEO_REPLY or item.get("url") is not None:
        reason = url_problem(item.get("url"))
        if reason:
            return reason
        if type_ == EventType.VIDEO_REPLY:
            data["url"] = item["url"].strip()
    return data


def _text_problem(text, *, required):
    if not isinstance(text, str) or not text.strip():
        return "text_reply needs a non-empty \"text\"." if required else "text must not be blank."
    if len(text) > MAX_TEXT_REPLY:
        return f"text is longer than {MAX_TEXT_REPLY} characters."
    if unstorable(text):
        return "text contains characters that cannot be stored (e.g. NUL)."
    return None


# --- Contacts: unsubscribe and bounce ----------------------------------------------------

_CONTACT_EFFECTS = {EventType.UNSUBSCRIBED: "unsubscribed_at", EventType.BOUNCED: "bounced_at"}


def _contacts_apply(effects, *, at):
    """Mark contacts unsubscribed/bounced; the first time counts (never moved later)."""
    by_field = {}
    for contact_id, type_ in effects:
        if type_ in _CONTACT_EFFECTS:
            by_field.setdefault(_CONTACT_EFFECTS[type_], set()).add(contact_id)
    for field_name, contact_ids in by_field.items():
        contact_mark(contact_ids=contact_ids, field_name=field_name, at=at)


def contact_mark(*, contact_ids, field_name, at):
    """Set ``unsubscribed_at`` or ``bounced_at`` on contacts that do not have it yet; the
    portal then skips them when sending ("not emailed again by this portal")."""
    if field_name not in _CONTACT_EFFECTS.values():
        raise ValueError(field_name)
    return Contact.objects.filter(pk__in=contact_ids, **{f"{field_name}__isnull": True}).update(
        **{field_name: at}
    )


def send_unsubscribe(*, send):
    """One-click unsubscribe: an ``unsubscribed`` event and the contact marked."""
    return event_record(send=send, type=EventType.UNSUBSCRIBED)

