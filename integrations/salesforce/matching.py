"""Contact matching: which Salesforce Contact or Lead a send's ``ThankView__c`` links to.

Batched: the sync hands over up to 200 sends' contacts at a time and this module answers
with a handful of SOQL queries, never one per recipient. Order (the guide's "How Contact
Matching Works", DESIGN.md §7, issue 5 item 3):

1. A valid ``003`` Donor ID that exists in the org → that Contact (``Id IN (...)``; ``query``
   never returns deleted rows, so a Contact deleted in Salesforce no longer matches).
2. A valid ``00Q`` Donor ID → that Lead while unconverted; a converted Lead → its
   ``ConvertedContactId`` as the Contact (the Lead link is kept).
3. Else Contact by email, case-insensitively (SOQL string comparison is case-insensitive,
   reference §5). Several Contacts with the email: the most recently modified wins and the
   match carries a note saying so.
4. Else Lead by email: an unconverted Lead links through ``Lead__c``; a converted Lead
   links its ``ConvertedContactId`` as the Contact.
5. Else no match; the send is not written and the health page lists it.

A Donor ID that fails validation (``contacts.salesforce_ids.check``, the one definition) is
ignored for matching: the contact falls back to email and the match says so
(``donor_id_invalid``), which feeds the "Invalid Salesforce ID" banner.

Custom contact object (support configures it on the connection): its lookup field, object
and email field replace ``Contact__c`` / ``Contact`` / ``Contact.Email``. Its Donor IDs are
any well-formed id looked up on that object; Leads still match through ``Lead__c``.

IN lists are split so the query URI stays well under Salesforce's 16 KB URI+header limit
(reference §2.4: 414 / 431 beyond it). The Donor ID query and the Contact email query of
contacts without a Donor ID are independent, so they are sent at the same time (two HTTP
connections): same number of calls, one round trip of latency less per batch.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import quote_plus

from contacts import salesforce_ids

# Encoded SOQL per GET stays below this many bytes; the rest of the 16,384-byte budget is
# the path and the headers (Authorization, etc.). Reference §2.4.
MAX_ENCODED_SOQL = 12_000


@dataclass(frozen=True)
class MatchInput:
    key: object  # the caller's key (the ThankView contact's pk)
    donor_id: str
    email: str


@dataclass(frozen=True)
class Match:
    method: str = ""  # SalesforceRecord.MatchMethod value; "" = no match
    contact_id: str = ""  # value for the contact lookup field (Contact__c or custom)
    lead_id: str = ""  # value for Lead__c
    note: str = ""
    donor_id_invalid: bool = False

    @property
    def matched(self) -> bool:
        return bool(self.contact_id or self.lead_id)


@dataclass(frozen=True)
class MatchConfig:
    contact_object: str = "Contact"
    email_field: str = "Email"

    @property
    def is_custom(self) -> bool:
        return self.contact_object != "Contact"


def soql_quote(value: str) -> str:
    """A SOQL string literal: single quotes, with ``\\`` and ``'`` escaped (reference §5)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def in_chunks(values, template: str, *, budget: int = MAX_ENCODED_SOQL):
    """Yield SOQL statements ``template.format(values=...)`` whose URL-encoded size fits ``budget``.

    ``template`` contains ``{values}`` where the comma-separated literals go.
    """
    base = len(quote_plus(template.format(values="")))
    chunk: list[str] = []
    size = base
    for value in values:
        lit = soql_quote(value)
        cost = len(quote_plus(lit)) + 3  # the ", " separator, encoded
        if chunk and size + cost > budget:
            yield template.format(values=", ".join(chunk))
            chunk, size = [], base
        chunk.append(lit)
        size += cost
    if chunk:
        yield template.format(values=", ".join(chunk))


def query_in(client, template: str, values) -> list[dict]:
    values = sorted({v for v in values if v})
    rows: list[dict] = []
    for soql in in_chunks(values, template):
        rows.extend(client.query_all(soql))
    return rows


def _newest(rows: list[dict]) -> tuple[dict, int]:
    """The most recently modified row (ties: highest Id, so the choice is stable) and the count."""
    best = max(rows, key=lambda r: (r.get("LastModifiedDate") or "", r.get("Id") or ""))
    return best, len(rows)


def leads_by_id(client, lead_ids) -> dict[str, dict]:
    """``{lead_id: {"IsConverted": bool, "ConvertedContactId": str|None}}`` for existing Leads."""
    rows = query_in(client, "SELECT Id, IsConverted, ConvertedContactId FROM Lead WHERE Id IN ({values})", lead_ids)
    return {r["Id"]: r for r in rows}


def _donor_id18(donor_id: str) -> str | None:
    """The 18-character form of any well-formed id (used for a custom contact object)."""
    try:
        return salesforce_ids.to_18(donor_id.strip())
    except ValueError:
        return None


def match_contacts(client, items: list[MatchInput], *, config: MatchConfig = MatchConfig()) -> dict:
    """``{item.key: Match}`` for every item, with at most a few queries per chunk of values."""
    result: dict = {}
    invalid: set = set()
    by_contact_id: dict[str, list] = {}
    by_lead_id: dict[str, list] = {}

    # 1. Donor IDs: validate once (contacts.salesforce_ids), split by object.
    for item in items:
        raw = (item.donor_id or "").strip()
        if not raw:
            continue
        check = salesforce_ids.check(raw)
        if check.ok and check.object == "Lead":
            by_lead_id.setdefault(check.id18, []).append(item.key)
        elif config.is_custom:
            id18 = check.id18 if check.ok else _donor_id18(raw)
            if id18:
                by_contact_id.setdefault(id18, []).append(item.key)
            else:
                invalid.add(item.key)
        elif check.ok and check.object == "Contact":
            by_contact_id.setdefault(check.id18, []).append(item.key)
        else:
            invalid.add(item.key)

    def by_email(keys_done) -> dict[str, list]:
        out: dict[str, list] = {}
        for item in items:
            if item.key not in keys_done and item.email and item.email.strip():
                out.setdefault(item.email.strip().lower(), []).append(item.key)
        return out

    ef = config.email_field
    contact_email_soql = (
        f"SELECT Id, {ef}, LastModifiedDate FROM {config.contact_object} WHERE {ef} IN ({{values}})"
    )

    def apply_contact_emails(pending: dict[str, list], rows: list[dict]) -> None:
        grouped: dict[str, list] = {}
        for row in rows:
            grouped.setdefault((row.get(ef) or "").strip().lower(), []).append(row)
        for email, keys in pending.items():
            if email in grouped:
                best, n = _newest(grouped[email])
                note = (
                    f"{n} {config.contact_object} records share this email; the most recently modified was used."
                    if n > 1
                    else ""
                )
                for key in keys:
                    result.setdefault(key, Match("email_contact", contact_id=best["Id"], note=note))

    # 2. Donor IDs and the emails of contacts without a usable Donor ID do not depend on each
    #    other: ask Salesforce both at once (two connections), which takes one round trip of
    #    latency instead of two. The call count is the same.
    with_donor = {k for keys in (*by_contact_id.values(), *by_lead_id.values()) for k in keys}
    first_emails = by_email(with_donor)
    email_rows = _in_parallel(
        client, (lambda c: query_in(c, contact_email_soql, first_emails)) if first_emails and by_contact_id else None
    )
    try:
        if by_contact_id:
            rows = query_in(client, f"SELECT Id FROM {config.contact_object} WHERE Id IN ({{values}})", by_contact_id)
            for row in rows:
                for key in by_contact_id.get(row["Id"], []):
                    result[key] = Match("donor_id_contact", contact_id=row["Id"])
        if by_lead_id:
            for lead_id, row in leads_by_id(client, by_lead_id).items():
                for key in by_lead_id.get(lead_id, []):
                    result[key] = _lead_match(row, "donor_id_lead", config)
    except BaseException:
        if email_rows is not None:
            email_rows.settle()
        raise
    if email_rows is not None:
        apply_contact_emails(first_emails, email_rows.result())

    # 3. Contact by email for whoever is still unmatched (all of them when nothing ran above).
    pending = by_email(result)
    if email_rows is not None:
        pending = {e: keys for e, keys in pending.items() if e not in first_emails}
    if pending:
        apply_contact_emails(pending, query_in(client, contact_email_soql, pending))

    # 4. Lead by email for whoever is still unmatched.
    pending = by_email(result)
    if pending:
        rows = query_in(
            client,
            "SELECT Id, Email, IsConverted, ConvertedContactId, LastModifiedDate FROM Lead WHERE Email IN ({values})",
            pending,
        )
        grouped = {}
        for row in rows:
            grouped.setdefault((row.get("Email") or "").strip().lower(), []).append(row)
        for email, keys in pending.items():
            if email in grouped:
                best, n = _newest(grouped[email])
                match = _lead_match(best, "email_lead", config)
                if n > 1:
                    match = Match(
                        match.method, match.contact_id, match.lead_id,
                        note=f"{n} Leads share this email; the most recently modified was used.",
                    )
                for key in keys:
                    result[key] = match

    # 5. Everyone gets an answer; invalid Donor IDs are flagged whatever email found.
    for item in items:
        m = result.get(item.key, Match())
        if item.key in invalid:
            m = Match(m.method, m.contact_id, m.lead_id, m.note, donor_id_invalid=True)
        result[item.key] = m
    return result


def _in_parallel(client, fn):
    """Start ``fn(peer_client)`` on another thread; returns a future (None when ``fn`` is None).

    The peer is a second ``SalesforceClient`` of the same connection (its own HTTP
    connection, so the two requests really overlap), kept on ``client`` for the run. It never
    touches the database itself (usage is persisted by the main client) and its calls are
    added to ``client.api_calls`` when the result is read, so the run's count stays exact.
    """
    if fn is None:
        return None
    peer = getattr(client, "_matching_peer", None)
    if peer is None:
        peer = type(client)(client.connection)
        peer.usage_persist_interval = float("inf")
        client._matching_peer = peer
    before = peer.api_calls

    def work():
        from django.db import connection

        try:
            return fn(peer)
        finally:
            connection.close()  # only if a token refresh opened one on this thread

    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(work)
    pool.shutdown(wait=False)

    class _Future:
        def result(self):
            try:
                return future.result()
            finally:
                client.api_calls += peer.api_calls - before
                if peer.api_usage and (client.api_usage is None or peer.api_usage[0] > client.api_usage[0]):
                    client.api_usage = peer.api_usage

        def settle(self):
            """Wait without raising (the main thread is already failing)."""
            try:
                self.result()
            except Exception:
                pass

    return _Future()


def _lead_match(row: dict, method: str, config: MatchConfig) -> Match:
    """An unconverted Lead links through Lead__c; a converted one through its Contact.

    With a custom contact object a converted Lead's Contact is not that object, so the Lead
    itself is linked.
    """
    if row.get("IsConverted") and row.get("ConvertedContactId") and not config.is_custom:
        method = "email_converted_lead" if method == "email_lead" else method
        return Match(method, contact_id=row["ConvertedContactId"])
    return Match(method, lead_id=row["Id"])
