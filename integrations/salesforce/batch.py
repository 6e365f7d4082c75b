"""One batch of due sends: prepared, written through the run's writer, outcomes stored.

``batch_write(ctx, send_ids, writer=...)``:

1. load: the sends (their contact, and their campaign from the run's cache), their rows in
   this org, and each send's state from its events received up to the cut-off (one query);
2. relink: a record whose Lead has since been converted links the Lead's Contact (one query
   for the batch; ``Lead__c`` is kept);
3. match: sends without a record yet are matched (``matching.match_contacts``, a few SOQL
   queries), unless ``matches`` (``matches_ahead``) already answered for their contact; a
   record keeps its match;
4. adopt: without an External ID, sends whose earlier create had an unknown outcome are
   looked up by their natural key and adopted, never created twice (``dedupe.adopt``);
5. build: each matched send's field values, mapped and the sync's own, fitted to the org's
   fields (``values.fit``: read-only fields left out, text cut to length, a Text Name
   filled); an unmatched send, or one whose required value is blank, is not written and says
   why (``records.mark_unmatched``, ``records.mark_blank_required``);
6. write: the writer writes the batch (the Bulk writer spools it: no outcome yet, the sends
   stay due until its jobs' results are stored);
7. store: each send's outcome and the run's counts, in one commit. Then a whole-call
   failure, or a refusal the customer must fix (a field, access), stops the run: writing
   more would fail the same way, and the sends stay due.
"""

from __future__ import annotations

from engagement.models import Campaign, Send
from engagement.selectors import send_states

from ..models import SalesforceRecord
from . import dedupe, errors, matching, records, values
from .context import RunContext
from .mapping import build_values
from .writers.base import Batch, WriteItem, Writer


def batch_write(ctx: RunContext, send_ids: list[int], *, writer: Writer, matches: dict | None = None) -> None:
    """Steps 1–7 of the module docstring for ``send_ids``."""
    sends = _load_sends(ctx, send_ids)
    rows = records.records_for(ctx, list(sends))
    states = send_states(list(sends), cutoff=ctx.cutoff)
    relink = converted_leads(ctx, rows)
    _match(ctx, rows, sends, matches or {})
    adopted: set[int] = set()
    if not ctx.external_id:
        adopted = dedupe.adopt(ctx, [r for r in rows.values() if dedupe.outcome_unknown(r)], sends)
    items = _build(ctx, rows, sends, states, relink)
    result = writer.write(ctx, Batch(items=items, records=rows))
    banner_error = records.apply_outcomes(ctx, rows, result.outcomes, adopted=adopted, relink=relink)
    records.store_batch(ctx, rows.values())
    if result.error is not None:
        raise result.error
    if banner_error is not None:
        raise banner_error


def _load_sends(ctx: RunContext, send_ids: list[int]) -> dict[int, Send]:
    sends = {s.pk: s for s in Send.objects.filter(pk__in=send_ids).select_related("contact")}
    for s in sends.values():  # a portal has few campaigns: load each once per run, not per send
        if s.campaign_id not in ctx.campaigns:
            ctx.campaigns[s.campaign_id] = Campaign.objects.get(pk=s.campaign_id)
        s.campaign = ctx.campaigns[s.campaign_id]
    return sends


def leads_optional(ctx: RunContext, ask):
    """``ask()``; if Salesforce answers that the user cannot read Leads, note it on the run
    (Contacts still sync; the run ends with the permissions banner) and ask again without Leads."""
    try:
        return ask()
    except errors.ObjectNotReadable as e:
        if e.object_name.lower() != "lead" or not ctx.match_config.leads:
            raise
        ctx.leads_unreadable(e)
        return ask()


def converted_leads(ctx: RunContext, rows: dict[int, SalesforceRecord]) -> dict[int, str]:
    """Step 2: send id → the Contact its Lead was converted into, for the sends linked to a
    Lead only that keep their match (a record, or a create to retry); "" when the Lead was
    converted but its Contact cannot be linked (custom contact object, no ConvertedContactId)."""
    lead_linked: dict[str, list[int]] = {}
    for sid, r in rows.items():
        if r.lead_id and not r.contact_id and not needs_match(r):
            lead_linked.setdefault(r.lead_id, []).append(sid)
    if not lead_linked:
        return {}
    leads = leads_optional(
        ctx, lambda: matching.leads_by_id(ctx.client, lead_linked) if ctx.match_config.leads else {}
    )
    out = {}
    for lead_id, row in leads.items():
        if row.get("IsConverted"):
            contact = row.get("ConvertedContactId") or ""
            for sid in lead_linked[lead_id]:
                out[sid] = "" if ctx.match_config.is_custom else contact
    return out


def needs_match(r: SalesforceRecord) -> bool:
    """Step 3's rule: a send without a record is matched, unless an attempt kept its match."""
    return not r.record_id and not (r.attempt_marker and r.match_method)


def matches_ahead(ctx: RunContext, send_ids: list[int]) -> dict:
    """Step 3 for many sends at once, without loading them: ``{contact pk: Match}`` for the
    sends that need matching. The Bulk writer matches 10,000 sends in a couple of
    ``/composite`` calls this way, yet prepares them 2,000 at a time."""
    done = {
        sid for sid, record_id, marker, method in SalesforceRecord.objects.filter(
            org_id=ctx.org_id, send_id__in=send_ids
        ).values_list("send_id", "record_id", "attempt_marker", "match_method")
        if not needs_match(SalesforceRecord(record_id=record_id, attempt_marker=marker, match_method=method))
    }
    items = {
        cid: matching.MatchInput(key=cid, donor_id=donor_id, email=email)
        for cid, donor_id, email in Send.objects.filter(pk__in=[s for s in send_ids if s not in done])
        .values_list("contact_id", "contact__donor_id", "contact__email")
    }
    if not items:
        return {}
    return leads_optional(ctx, lambda: matching.match_contacts(ctx.client, list(items.values()), config=ctx.match_config))


def _match(ctx: RunContext, rows: dict[int, SalesforceRecord], sends: dict[int, Send], known: dict) -> None:
    """Step 3 for the batch: store each match on its row and count invalid Donor IDs."""
    to_match = [sid for sid, r in rows.items() if needs_match(r)]
    if not to_match:
        return
    items = {}
    for sid in to_match:
        c = sends[sid].contact
        if c.pk not in known:
            items[c.pk] = matching.MatchInput(key=c.pk, donor_id=c.donor_id, email=c.email)
    found = leads_optional(
        ctx, lambda: matching.match_contacts(ctx.client, list(items.values()), config=ctx.match_config)
    ) if items else {}
    for sid in to_match:
        cid = sends[sid].contact_id
        m = found[cid] if cid in found else known[cid]
        r = rows[sid]
        r.match_method, r.contact_id, r.lead_id = m.method, m.contact_id, m.lead_id
        r.lookup_field = ctx.lookup_field if m.contact_id else ""
        r.match_note, r.donor_id_invalid = m.note[:255], m.donor_id_invalid
        if m.donor_id_invalid:
            ctx.run.invalid_donor_ids += 1


def _build(ctx: RunContext, rows: dict[int, SalesforceRecord], sends: dict[int, Send], states: dict,
           relink: dict[int, str]) -> list[WriteItem]:
    """Step 5."""
    items: list[WriteItem] = []
    for sid, r in rows.items():
        if not r.record_id and not (r.contact_id or r.lead_id):
            records.mark_unmatched(ctx, r)
            continue
        if not r.record_id and relink.get(sid) == "":  # would create with a converted Lead alone
            r.match_note = matching.CONVERTED_LEAD_NOTE
            records.mark_unmatched(ctx, r)
            continue
        send = sends[sid]
        raw = build_values(
            ctx.mappings, send=MappedSend(send, ctx), campaign=send.campaign, contact=send.contact,
            state=states[sid], field_types=ctx.field_types,
        )
        raw.update(_owned_values(ctx, send, r, creating=not r.record_id, relink_to=relink.get(sid)))
        fitted = values.fit(ctx.field_infos, raw, creating=not r.record_id)
        if fitted.blank_required:
            records.mark_blank_required(ctx, r, fitted.blank_required, ctx.mappings)
            continue
        r.value_note = "; ".join(fitted.notes)[:255]
        items.append(WriteItem(send_id=sid, values=fitted.values, record_id=r.record_id))
    return items


class MappedSend:
    """A send as the field mappings see it, with ``landing_url`` built from a template.

    ``Send.landing_url`` runs ``reverse()`` per send (about 65 µs, a third of the per-send
    Python time of a large run); the URL differs between sends only by the token, so the
    run renders it once for a placeholder token and substitutes (tokens are URL-safe).
    """

    _PLACEHOLDER = "tvsynctokenplaceholder"

    def __init__(self, send, ctx: RunContext):
        self._send = send
        if ctx.landing_template is None:
            ctx.landing_template = Send(token=self._PLACEHOLDER).landing_url
        self.landing_url = ctx.landing_template.replace(self._PLACEHOLDER, send.token)

    def __getattr__(self, name):
        return getattr(self._send, name)


def owned_fields(ctx: RunContext) -> list[str]:
    """The fields the sync fills itself (``_owned_values``), whichever a send needs."""
    fields = [ctx.lookup_field, "Lead__c"]
    if values.text_name_field(ctx.field_infos):
        fields.append("Name")
    if ctx.schema.get("portal_id_present"):
        fields.append("Portal_Id__c")
    if ctx.schema.get("portal_name_present"):
        fields.append("Portal_Name__c")
    if ctx.external_id:
        fields.append(ctx.external_id)
    return fields


def _owned_values(ctx: RunContext, send, r: SalesforceRecord, *, creating: bool, relink_to: str | None) -> dict:
    """Fields the sync fills itself: the lookups (on create, or the Contact of a converted
    Lead, never the converted Lead), a Text Name on create (``values.record_name``),
    ``Portal_Id__c`` / ``Portal_Name__c`` when describe shows them, ``Send_Id__c``."""
    owned = {}
    if relink_to:  # its Lead was converted: link the Contact, never the converted Lead
        owned[ctx.lookup_field] = relink_to
    elif creating:
        if r.contact_id:
            owned[r.lookup_field or ctx.lookup_field] = r.contact_id
        if r.lead_id:
            owned["Lead__c"] = r.lead_id
    if creating:
        name = values.text_name_field(ctx.field_infos)
        if name:
            owned[name["name"]] = values.record_name(send.campaign, send.contact, length=name.get("length") or 80)
    if ctx.schema.get("portal_id_present"):
        owned["Portal_Id__c"] = str(ctx.conn.portal_id)
    if ctx.schema.get("portal_name_present"):
        owned["Portal_Name__c"] = ctx.conn.portal.name
    if ctx.external_id:
        owned[ctx.external_id] = dedupe.send_key(send)
    return owned
