"""The no-duplicate guarantee: a send gets one ``ThankView__c`` record, ever.

A create whose answer is lost (a worker killed mid-call, a read timeout after Salesforce
committed) must not become a second record on the next try. Two ways, by what the org has:

1. ``Send_Id__c`` exists as an External ID: every new record is *upserted* by the send's
   key (``send_key``), which is idempotent, so a create is safe to repeat.
2. Otherwise, before each create call an **attempt marker** is committed on the send's row
   (``mark_attempts``). A row with a marker and no record id is a create whose outcome is
   unknown: before creating again, the record is looked up by its **natural key** (lookup +
   ``Event_Name__c`` + ``Sent_Date__c`` [+ ``Portal_Id__c``]) and adopted (``adopt``). A
   record another send of this org already owns is never taken.

An update goes by record id and is safe to repeat. The Bulk writer keys its result rows by
the same values (``send_id_from_key``, ``natural_key_fields``) and settles every earlier job
before adoption looks (``writers/bulk.py``), so its creates keep the same guarantee.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from ..models import SalesforceRecord
from .context import RunContext
from .matching import query_in, soql_quote
from .records import save_records
from .schema import OBJECT

SEND_ID_FIELD = "Send_Id__c"


def external_id_for(schema: dict) -> str | None:
    """The External ID to upsert by, when describe showed ``Send_Id__c`` as one."""
    return SEND_ID_FIELD if schema.get("send_id_external") else None


def send_key(send) -> str:
    """The stable, unique value of ``Send_Id__c`` for a send (not its secret token)."""
    return f"tv-{send.campaign.portal_id}-{send.pk}"


def send_id_from_key(key: str, portal_id: int) -> int | None:
    """The send id in a ``send_key`` of this portal, or None."""
    prefix = f"tv-{portal_id}-"
    if key.startswith(prefix) and key[len(prefix):].isdigit():
        return int(key[len(prefix):])
    return None


def natural_key_fields(lookup_field: str) -> tuple[str, ...]:
    """The fields that identify a send's record when it has no id and no External ID."""
    return (lookup_field, "Lead__c", "Event_Name__c", "Sent_Date__c", "Portal_Id__c")


# --- attempt markers ----------------------------------------------------------------------


def mark_attempts(records: list[SalesforceRecord]) -> None:
    """Persist (commit) one attempt marker on each row *before* their create call."""
    marker, at = str(uuid.uuid4()), timezone.now()
    for r in records:
        r.attempt_marker, r.attempt_at = marker, at
    with transaction.atomic():
        save_records(records)


def mark_attempts_of(ctx: RunContext, send_ids: list[int]) -> None:
    """``mark_attempts`` for rows that are not in memory (one UPDATE)."""
    SalesforceRecord.objects.filter(org_id=ctx.org_id, send_id__in=send_ids).update(
        attempt_marker=str(uuid.uuid4()), attempt_at=timezone.now()
    )


def outcome_unknown(r: SalesforceRecord) -> bool:
    """A create was attempted and no record id came back: look before creating again."""
    return bool(r.attempt_marker and not r.record_id)


def was_adopted(r: SalesforceRecord) -> bool:
    """A marker next to a record id: ``adopt`` found the record that create left behind."""
    return bool(r.attempt_marker and r.record_id)


# --- adoption by natural key --------------------------------------------------------------


def adopt(ctx: RunContext, pending: list[SalesforceRecord], sends: dict) -> set[int]:
    """Find records an unknown-outcome create left behind, by natural key, and take them.

    1. One query (``_adoption_soql``) for the records of the pending sends' Contacts/Leads
       and campaigns.
    2. Drop the records another send of this org already owns.
    3. Give each pending send the first record with its natural key; returns their send ids.
    """
    soql = _adoption_soql(ctx, pending, sends)
    if soql is None:
        return set()
    rows = query_in(ctx.client, soql, {sends[r.send_id].campaign.name for r in pending})
    by_key = _unowned_by_key(ctx, rows, pending)
    adopted = set()
    for r in pending:
        send = sends[r.send_id]
        found = by_key.get(_key(r.contact_id or r.lead_id, send.campaign.name, send.sent_at))
        if found:
            r.record_id = found.pop(0)
            adopted.add(r.send_id)
    return adopted


def _adoption_soql(ctx: RunContext, pending: list[SalesforceRecord], sends: dict) -> str | None:
    """The SOQL template (``{values}`` = the campaign names) or None when nobody is linked."""
    if not pending:
        return None
    lookup = ctx.lookup_field
    contact_ids = sorted({r.contact_id for r in pending if r.contact_id})
    lead_ids = sorted({r.lead_id for r in pending if r.lead_id})
    where_lookup = []
    if contact_ids:
        where_lookup.append(f"{lookup} IN ({', '.join(map(soql_quote, contact_ids))})")
    if lead_ids:
        where_lookup.append(f"Lead__c IN ({', '.join(map(soql_quote, lead_ids))})")
    if not where_lookup:
        return None
    portal_clause = ""
    if ctx.schema.get("portal_id_present"):
        portal_clause = f" AND Portal_Id__c = {soql_quote(str(ctx.conn.portal_id))}"
    return (
        f"SELECT Id, {lookup}, Lead__c, Event_Name__c, Sent_Date__c FROM {OBJECT} "
        f"WHERE ({' OR '.join(where_lookup)}){portal_clause} AND Event_Name__c IN ({{values}})"
    )


def _unowned_by_key(ctx: RunContext, rows: list[dict], pending: list[SalesforceRecord]) -> dict[tuple, list[str]]:
    """Natural key → ids of the found records that no other send of this org owns."""
    owned = set(
        SalesforceRecord.objects.filter(org_id=ctx.org_id, record_id__in=[row["Id"] for row in rows])
        .exclude(send_id__in=[r.send_id for r in pending])
        .values_list("record_id", flat=True)
    )
    lookup = ctx.lookup_field
    by_key: dict[tuple, list[str]] = {}
    for row in rows:
        if row["Id"] in owned:
            continue
        who = row.get(lookup) or row.get("Lead__c") or ""
        by_key.setdefault(_key(who, row.get("Event_Name__c") or "", row.get("Sent_Date__c")), []).append(row["Id"])
    return by_key


def _key(who: str, event_name: str, sent) -> tuple:
    return (who[:15], event_name.lower(), _ms(sent))


def _ms(value) -> str:
    """A datetime (ours or Salesforce's ``2018-12-18T22:51:36.000+0000``) to UTC milliseconds."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value.replace("Z", "+00:00")
        if len(text) >= 5 and text[-5] in "+-" and ":" not in text[-5:]:
            text = text[:-2] + ":" + text[-2:]
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds")
