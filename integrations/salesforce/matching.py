"""Contact matching: which Salesforce Contact or Lead a send's ``ThankView__c`` links to.

Batched: the sync hands over up to 200 sends' contacts at a time and this module answers
with a handful of SOQL queries, never one per recipient. Order (the guide's "How Contact
Matching Works", docs/design.md "The sync"):

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

from dataclasses import dataclass
from urllib.parse import quote_plus

from contacts import salesforce_ids

from .client import COMPOSITE_QUERY_LIMIT, MAX_GET_SOQL_BYTES

# Encoded SOQL per GET stays below this many bytes; the rest of the 16,384-byte budget is
# the path and the headers (Authorization, etc.). Reference §2.4.
MAX_ENCODED_SOQL = MAX_GET_SOQL_BYTES
# A statement inside /composite: SOQL may be 100,000 characters (§2.4); keep a margin.
MAX_COMPOSITE_SOQL = 90_000
# ... and at most this many IN values, so that its rows usually fit one result batch (2,000
# rows, §2.4): a second page costs another subrequest, which is worth an IN list of its own.
MAX_COMPOSITE_VALUES = 2_000

LEAD_ID_SOQL = "SELECT Id, IsConverted, ConvertedContactId FROM Lead WHERE Id IN ({values})"
LEAD_EMAIL_SOQL = "SELECT Id, Email, IsConverted, ConvertedContactId, LastModifiedDate FROM Lead WHERE Email IN ({values})"


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
    # False once Salesforce said the user cannot read Leads: no Lead query is sent.
    leads: bool = True

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
    last = client.in_parallel(lambda c: list(c.query_all(soqls[-1])))
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
    rows = query_in(client, LEAD_ID_SOQL, lead_ids)
    return {r["Id"]: r for r in rows}


def _donor_id18(donor_id: str) -> str | None:
    """The 18-character form of any well-formed id (used for a custom contact object)."""
    try:
        return salesforce_ids.to_18(donor_id.strip())
    except ValueError:
        return None


def match_contacts(client, items: list[MatchInput], *, config: MatchConfig = MatchConfig()) -> dict:
    """``{item.key: Match}`` for every item, with at most a few queries per chunk of values.

    A user who cannot read Leads makes the Lead queries fail with ``errors.ObjectNotReadable``;
    the caller notes it and asks again with ``config.leads`` off (``batch.leads_optional``).

    1. Donor IDs are validated once (``contacts.salesforce_ids``) and split by object.
    2. Round one: the Donor IDs, and the Contact emails of contacts without a usable Donor ID
       (independent of each other, so asked together).
    3. Round two, for whoever is still unmatched: Contact by email where round one did not
       ask yet (a Donor ID that found nothing), and Lead by email. A Lead row only counts for
       an email no Contact has, so both go in the same round.
    4. Lead by email for whoever is still unmatched.
    5. Everyone gets an answer; invalid Donor IDs are flagged whatever email found.
    """
    m = _Matching(client, items, config)
    m.split_donor_ids()
    m.round_one()
    lead_rows = m.round_two()
    m.apply_lead_emails(lead_rows)
    return m.answer()


class _Matching:
    """The state of one ``match_contacts`` call, its steps as methods."""

    def __init__(self, client, items: list[MatchInput], config: MatchConfig):
        self.client, self.items, self.config = client, items, config
        self.result: dict = {}
        self.invalid: set = set()
        self.by_contact_id: dict[str, list] = {}
        self.by_lead_id: dict[str, list] = {}
        self.first_emails: dict[str, list] = {}
        self.first_rows: list[dict] = []
        ef = config.email_field
        self.contact_email_soql = f"SELECT Id, {ef}, LastModifiedDate FROM {config.contact_object} WHERE {ef} IN ({{values}})"
        self.contact_id_soql = f"SELECT Id FROM {config.contact_object} WHERE Id IN ({{values}})"

    def split_donor_ids(self) -> None:
        """Step 1."""
        for item in self.items:
            raw = (item.donor_id or "").strip()
            if not raw:
                continue
            check = salesforce_ids.check(raw)
            if check.ok and check.object == "Lead":
                self.by_lead_id.setdefault(check.id18, []).append(item.key)
                continue
            if self.config.is_custom:
                id18 = check.id18 if check.ok else _donor_id18(raw)
            else:
                id18 = check.id18 if check.ok and check.object == "Contact" else None
            if id18:
                self.by_contact_id.setdefault(id18, []).append(item.key)
            else:
                self.invalid.add(item.key)

    def by_email(self, keys_done) -> dict[str, list]:
        """Normalised email → keys, for the items not in ``keys_done`` that have an email."""
        out: dict[str, list] = {}
        for item in self.items:
            if item.key not in keys_done and item.email and item.email.strip():
                out.setdefault(item.email.strip().lower(), []).append(item.key)
        return out

    def round_one(self) -> None:
        """Step 2."""
        with_donor = {k for keys in (*self.by_contact_id.values(), *self.by_lead_id.values()) for k in keys}
        self.first_emails = self.by_email(with_donor)
        contact_rows, lead_rows, self.first_rows = query_specs(self.client, [
            (self.contact_id_soql, self.by_contact_id),
            (LEAD_ID_SOQL, self.by_lead_id if self.config.leads else {}),
            (self.contact_email_soql, self.first_emails),
        ])
        for row in contact_rows:
            for key in self.by_contact_id.get(row["Id"], []):
                self.result[key] = Match("donor_id_contact", contact_id=row["Id"])
        for row in lead_rows:
            for key in self.by_lead_id.get(row["Id"], []):
                self.result[key] = _lead_match(row, "donor_id_lead", self.config)
        self.apply_contact_emails(self.first_emails, self.first_rows)

    def round_two(self) -> list[dict]:
        """Step 3; returns the Lead rows by email for step 4."""
        pending = self.by_email(self.result)
        # A Donor ID that found nothing, with an email round one already asked about.
        self.apply_contact_emails({e: keys for e, keys in pending.items() if e in self.first_emails}, self.first_rows)
        pending = self.by_email(self.result)
        if not pending:
            return []
        contact_pending = {e: keys for e, keys in pending.items() if e not in self.first_emails}
        email_rows, lead_rows = query_specs(
            self.client, [(self.contact_email_soql, contact_pending), (LEAD_EMAIL_SOQL, pending if self.config.leads else {})]
        )
        self.apply_contact_emails(contact_pending, email_rows)
        return lead_rows

    def apply_contact_emails(self, pending: dict[str, list], rows: list[dict]) -> None:
        """The newest Contact (or custom object) row of each pending email, for its keys."""
        ef, name = self.config.email_field, self.config.contact_object
        for email, (best, n) in _newest_by_email(rows, ef, pending).items():
            note = f"{n} {name} records share this email; the most recently modified was used." if n > 1 else ""
            for key in pending[email]:
                self.result.setdefault(key, Match("email_contact", contact_id=best["Id"], note=note))

    def apply_lead_emails(self, lead_rows: list[dict]) -> None:
        """Step 4."""
        pending = self.by_email(self.result)
        for email, (best, n) in _newest_by_email(lead_rows, "Email", pending).items():
            match = _lead_match(best, "email_lead", self.config)
            if n > 1:
                match = Match(
                    match.method, match.contact_id, match.lead_id,
                    note=f"{n} Leads share this email; the most recently modified was used.",
                )
            for key in pending[email]:
                self.result[key] = match

    def answer(self) -> dict:
        """Step 5."""
        for item in self.items:
            m = self.result.get(item.key, Match())
            if item.key in self.invalid:
                m = Match(m.method, m.contact_id, m.lead_id, m.note, donor_id_invalid=True)
            self.result[item.key] = m
        return self.result


def _newest_by_email(rows: list[dict], email_field: str, pending: dict) -> dict[str, tuple[dict, int]]:
    """For each pending email that has rows: its most recently modified row and the count."""
    grouped: dict[str, list] = {}
    for row in rows:
        grouped.setdefault((row.get(email_field) or "").strip().lower(), []).append(row)
    return {email: _newest(grouped[email]) for email in pending if email in grouped}


# A converted Lead cannot be referenced in a lookup ("cannot reference converted lead",
# Salesforce Help 000384333), so Lead__c never holds one as the only link.
CONVERTED_LEAD_NOTE = "converted-lead"


def _lead_match(row: dict, method: str, config: MatchConfig) -> Match:
    """An unconverted Lead links through Lead__c; a converted one through its Contact.

    A converted Lead whose Contact cannot be linked (a custom contact object's lookup cannot
    hold a Contact; no ConvertedContactId) matches nobody, and the send says why
    (``records.mark_unmatched``).
    """
    if not row.get("IsConverted"):
        return Match(method, lead_id=row["Id"])
    if row.get("ConvertedContactId") and not config.is_custom:
        method = "email_converted_lead" if method == "email_lead" else method
        return Match(method, contact_id=row["ConvertedContactId"])
    return Match(note=CONVERTED_LEAD_NOTE)


# --- what matching costs (the re-sync estimate, ``estimate.py``) ---------------------------


def spec_calls(specs) -> int:
    """The API calls ``query_specs`` makes for these ``(template, values)`` pairs, not counting
    result pages past the first 2,000 rows of a statement (the IN lists are cut so that each
    statement's rows usually fit one page)."""
    specs = [(template, sorted({v for v in values if v})) for template, values in specs]
    statements = [list(in_chunks(values, template)) for template, values in specs]
    if not any(len(group) > 1 for group in statements):
        return sum(len(group) for group in statements)  # one GET each
    n = sum(
        len(list(in_chunks(values, template, budget=MAX_COMPOSITE_SOQL, encoded=False, max_values=MAX_COMPOSITE_VALUES)))
        for template, values in specs
    )
    return -(-n // COMPOSITE_QUERY_LIMIT)  # five statements per /composite call


def lookup_calls(items: list[MatchInput], *, config: MatchConfig = MatchConfig()) -> int:
    """The most API calls ``match_contacts(items)`` can make: round one as it will be asked
    (Donor IDs as Contacts, Donor IDs as Leads, emails without a Donor ID), and round two as
    if round one found nobody (Contact emails of the Donor-ID holders, Lead emails of all).
    Only Salesforce's answers can make round two smaller."""
    m = _Matching(None, items, config)
    m.split_donor_ids()
    with_donor = {k for keys in (*m.by_contact_id.values(), *m.by_lead_id.values()) for k in keys}
    first_emails = m.by_email(with_donor)
    everyone = m.by_email(set())
    round_one = spec_calls([(m.contact_id_soql, m.by_contact_id), (LEAD_ID_SOQL, m.by_lead_id),
                            (m.contact_email_soql, first_emails)])
    round_two = spec_calls([(m.contact_email_soql, [e for e in everyone if e not in first_emails]),
                            (LEAD_EMAIL_SOQL, everyone)])
    return round_one + round_two
