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

Queries go in two rounds (the second only for whoever the first left unmatched): (1) Donor
IDs and the Contact emails of contacts without a usable Donor ID; (2) Contact emails of
contacts whose Donor ID found nothing, and Lead emails of everyone still unmatched (a Lead
row is used only when no Contact matched the email). The statements of a round are
independent, so they are sent together (``query_specs``): when each fits one GET (IN lists
cut so the URI stays under Salesforce's 16 KB URI+header limit, reference §2.4), one GET
each, at the same time on two connections; when one needs more, they go through
``POST /composite`` (``client.query_many``), whose subrequest URLs are not subject to that
limit: statements of up to ~90,000 characters and ``MAX_COMPOSITE_VALUES`` values, five per
call, one API call each (§2.8). A batch of 10,000 emails is then one call instead of ~30.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import quote_plus

from contacts import salesforce_ids

from .client import MAX_GET_SOQL_BYTES

# Encoded SOQL per GET stays below this many bytes; the rest of the 16,384-byte budget is
# the path and the headers (Authorization, etc.). Reference §2.4.
MAX_ENCODED_SOQL = MAX_GET_SOQL_BYTES
# A statement inside /composite: SOQL may be 100,000 characters (§2.4); keep a margin.
MAX_COMPOSITE_SOQL = 90_000
# ... and at most this many IN values, so that its rows usually fit one result batch (2,000
# rows, §2.4): a second page costs another subrequest, which is worth an IN list of its own.
MAX_COMPOSITE_VALUES = 2_000


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


def in_chunks(values, template: str, *, budget: int = MAX_ENCODED_SOQL, encoded: bool = True,
              max_values: int | None = None):
    """Yield SOQL statements ``template.format(values=...)`` whose size fits ``budget``.

    ``template`` contains ``{values}`` where the comma-separated literals go. ``encoded``:
    the budget is for the URL-encoded statement (a GET URI), else for the statement itself.
    """
    measure = (lambda text: len(quote_plus(text))) if encoded else len
    base = measure(template.format(values=""))
    sep = measure(", ")
    chunk: list[str] = []
    size = base
    for value in values:
        lit = soql_quote(value)
        cost = measure(lit) + sep
        if chunk and (size + cost > budget or (max_values and len(chunk) >= max_values)):
            yield template.format(values=", ".join(chunk))
            chunk, size = [], base
        chunk.append(lit)
        size += cost
    if chunk:
        yield template.format(values=", ".join(chunk))


def query_specs(client, specs) -> list[list[dict]]:
    """The rows of each independent ``(template, values)`` pair, all asked at once.

    When every IN list fits one GET (the 200-send Collections batches), one GET each, as
    before. When one needs several (long IN lists), the lists are cut for ``/composite``
    instead (long statements, five per call, ``client.query_many``), which takes fewer
    calls than the GETs it replaces.
    """
    specs = [(template, sorted({v for v in values if v})) for template, values in specs]
    statements = [list(in_chunks(values, template)) for template, values in specs]
    if any(len(group) > 1 for group in statements):
        statements = [
            list(in_chunks(values, template, budget=MAX_COMPOSITE_SOQL, encoded=False, max_values=MAX_COMPOSITE_VALUES))
            for template, values in specs
        ]
        answers = iter(client.query_many([soql for group in statements for soql in group]))
    else:
        answers = iter(_get_each(client, [soql for group in statements for soql in group]))
    return [[row for _ in group for row in next(answers)] for group in statements]


def _get_each(client, soqls: list[str]) -> list[list[dict]]:
    """One GET per statement (each lookup kind fits one: a small batch). With several, the
    last runs at the same time on a second connection: same calls, one round trip less."""
    if len(soqls) < 2:
        return [list(client.query_all(soql)) for soql in soqls]
    last = _in_parallel(client, lambda c: list(c.query_all(soqls[-1])))
    try:
        first = [list(client.query_all(soql)) for soql in soqls[:-1]]
    except BaseException:
        last.settle()
        raise
    return [*first, last.result()]


def query_in(client, template: str, values) -> list[dict]:
    return query_specs(client, [(template, values)])[0]


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

    contact_id_soql = f"SELECT Id FROM {config.contact_object} WHERE Id IN ({{values}})"
    lead_id_soql = "SELECT Id, IsConverted, ConvertedContactId FROM Lead WHERE Id IN ({values})"
    lead_email_soql = (
        "SELECT Id, Email, IsConverted, ConvertedContactId, LastModifiedDate FROM Lead WHERE Email IN ({values})"
    )

    # 2. Round one: the Donor IDs, and the emails of contacts without a usable Donor ID
    #    (independent of each other, so asked together).
    with_donor = {k for keys in (*by_contact_id.values(), *by_lead_id.values()) for k in keys}
    first_emails = by_email(with_donor)
    contact_rows, lead_rows, email_rows = query_specs(
        client, [(contact_id_soql, by_contact_id), (lead_id_soql, by_lead_id), (contact_email_soql, first_emails)]
    )
    for row in contact_rows:
        for key in by_contact_id.get(row["Id"], []):
            result[key] = Match("donor_id_contact", contact_id=row["Id"])
    for row in lead_rows:
        for key in by_lead_id.get(row["Id"], []):
            result[key] = _lead_match(row, "donor_id_lead", config)
    apply_contact_emails(first_emails, email_rows)
    first_rows = email_rows

    # 3. Round two, for whoever is still unmatched: Contact by email where round one did not
    #    ask yet (a Donor ID that found nothing), and Lead by email. A Lead row only counts
    #    for an email no Contact has, so both go in the same round.
    pending = by_email(result)
    # A Donor ID that found nothing, with an email round one already asked about.
    apply_contact_emails({e: keys for e, keys in pending.items() if e in first_emails}, first_rows)
    pending = by_email(result)
    if not pending:
        return _answer(items, result, invalid)
    contact_pending = {e: keys for e, keys in pending.items() if e not in first_emails}
    email_rows, lead_rows = query_specs(client, [(contact_email_soql, contact_pending), (lead_email_soql, pending)])
    apply_contact_emails(contact_pending, email_rows)

    # 4. Lead by email for whoever is still unmatched.
    pending = by_email(result)
    grouped = {}
    for row in lead_rows:
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
    return _answer(items, result, invalid)


def _answer(items: list[MatchInput], result: dict, invalid: set) -> dict:
    """5. Everyone gets an answer; invalid Donor IDs are flagged whatever email found."""
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
