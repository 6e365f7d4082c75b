"""Matching of large batches through /composite (a first backfill must not cost one
SOQL query per ~330 emails), over HTTPS to sfsim: the call count, paging through
``nextRecordsUrl`` inside composite calls, and errors classified as for a single GET query."""

import pytest

from integrations.salesforce import matching
from integrations.salesforce.client import SalesforceClient
from integrations.salesforce.errors import MappingError

pytestmark = pytest.mark.django_db

# Long emails: ~330 would fit one GET URI, so 2,500 of them need ~15 GET queries.
PAD = "x" * 40


def email(i: int, kind: str) -> str:
    return f"{kind}.{PAD}.{i}@long-domain.example.org"


def test_a_large_batch_is_matched_in_a_few_composite_calls_with_paging(sync_conn, sim):
    contacts = sim.seed("Contact", [{"LastName": f"C{i}", "Email": email(i, "c").upper()} for i in range(2_400)])
    leads = sim.seed("Lead", [{"LastName": f"L{i}", "Company": "Acme", "Email": email(i, "l")} for i in range(50)])
    items = [matching.MatchInput(key=("c", i), donor_id="", email=email(i, "c")) for i in range(2_400)]
    items += [matching.MatchInput(key=("l", i), donor_id="", email=email(i, "l")) for i in range(50)]
    items += [matching.MatchInput(key=("n", i), donor_id="", email=email(i, "n")) for i in range(50)]
    sim.config(query_batch_size=1000)  # a statement's 1,000+ rows come back in pages
    try:
        sim.reset_stats()
        client = SalesforceClient(sync_conn)
        found = matching.match_contacts(client, items)
        stats = sim.stats()
    finally:
        sim.config(query_batch_size=2000)
    assert [found[("c", i)].contact_id for i in range(2_400)] == contacts  # every page was read
    assert {found[("c", i)].method for i in range(2_400)} == {"email_contact"}
    assert [found[("l", i)].lead_id for i in range(50)] == leads
    assert not any(found[("n", i)].matched for i in range(50))
    # Round one: 2 statements (call 1), their second pages (call 2); round two: the 100
    # unmatched emails fit one GET. Instead of ~15 GETs plus pages.
    assert stats["api_calls"] == client.api_calls == 3, stats["by_kind"]
    assert stats["by_kind"].get("composite") == 2 and stats["by_kind"].get("query") == 1, stats["by_kind"]


def test_a_small_batch_still_takes_one_get_query(sync_conn, sim):
    """The 200-send Collections path: one GET per lookup kind suffices, composite is not used."""
    sim.seed("Contact", [{"LastName": f"C{i}", "Email": f"c{i}@x.org"} for i in range(200)])
    items = [matching.MatchInput(key=i, donor_id="", email=f"c{i}@x.org") for i in range(200)]
    sim.reset_stats()
    found = matching.match_contacts(SalesforceClient(sync_conn), items)
    assert all(m.method == "email_contact" for m in found.values())
    assert sim.stats()["by_kind"] == {"query": 1}


@pytest.mark.parametrize("n", [5, 1_000])
def test_a_subrequest_error_is_classified_like_the_single_query(sync_conn, sim, n):
    """A custom contact object whose configured email field does not exist: INVALID_FIELD,
    the same MappingError whether the query went as a GET (5 emails) or inside /composite."""
    sim.create_object("Constituent__c", [{"name": "Email__c", "type": "email"}])
    config = matching.MatchConfig(contact_object="Constituent__c", email_field="Nope__c")
    items = [matching.MatchInput(key=i, donor_id="", email=email(i, "c")) for i in range(n)]
    sim.reset_stats()
    with pytest.raises(MappingError) as exc:
        matching.match_contacts(SalesforceClient(sync_conn), items, config=config)
    assert exc.value.code == "INVALID_FIELD" and "Nope__c" in exc.value.message
    assert sim.stats()["by_kind"] == ({"query": 1} if n == 5 else {"composite": 1})
