import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from contacts import selectors, services
from contacts.models import Contact
from tests.contacts.factories import make_contact


def test_email_is_unique_per_portal_after_trimming_and_case_folding(portal_a):
    make_contact(portal_a, email="Jane.Doe@Example.org")
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(portal=portal_a, email=" jane.doe@example.ORG", email_normalized="jane.doe@example.org")


def test_same_email_may_exist_in_two_portals(portal_a, portal_b):
    make_contact(portal_a, email="jane@example.org")
    make_contact(portal_b, email="JANE@example.org")
    assert Contact.objects.filter(email_normalized="jane@example.org").count() == 2


def test_upsert_creates_then_updates_by_normalised_email(portal_a):
    first = services.contact_upsert_many(
        portal=portal_a,
        rows=[{"email": " Jane@Example.org ", "first_name": "Jane", "last_name": "Doe", "donor_id": "1004422"}],
    )
    assert (first.created, first.updated, first.rejected) == (1, 0, 0)
    second = services.contact_upsert_many(
        portal=portal_a,
        rows=[{"email": "jane@example.ORG", "first_name": "Janet", "last_name": "", "donor_id": "003RO0000035WQgYAM"}],
    )
    assert (second.created, second.updated, second.rejected) == (0, 1, 0)
    contact = Contact.objects.get(portal=portal_a)
    assert contact.email == "jane@example.ORG"  # as last given, trimmed
    assert contact.email_normalized == "jane@example.org"
    assert contact.first_name == "Janet"
    assert contact.last_name == "Doe"  # a blank value keeps the stored one
    assert (contact.donor_id_status, contact.donor_id_reason) == ("contact", "")


def test_statuses_follow_the_donor_id(portal_a):
    cases = {
        "none@x.org": ("", "", ""),
        "contact@x.org": ("003RO0000035WQg", "contact", ""),
        "lead@x.org": ("00QRO0000035WQg", "lead", ""),
        "numeric@x.org": ("1004422", "invalid", "numeric"),
        "account@x.org": ("001D000000IRFmaIAH", "invalid", "prefix"),
        "mangled@x.org": ("003ro0000035wqgyam", "invalid", "checksum"),
        "short@x.org": ("003RO00", "invalid", "length"),
    }
    result = services.contact_upsert_many(
        portal=portal_a, rows=[{"email": e, "donor_id": d} for e, (d, _, _) in cases.items()]
    )
    assert result.created == 7
    assert len(result.warnings) == 4  # the invalid ones are imported and reported, not dropped
    for email, (donor_id, status, reason) in cases.items():
        c = Contact.objects.get(portal=portal_a, email_normalized=email)
        assert (c.donor_id, c.donor_id_status, c.donor_id_reason) == (donor_id, status, reason), email
    assert selectors.invalid_donor_id_count(portal=portal_a) == 4


def test_bad_rows_are_rejected_with_their_line_and_good_rows_kept(portal_a):
    result = services.contact_upsert_many(
        portal=portal_a,
        rows=[
            {"email": "ok@x.org"},
            {"email": "not-an-email"},
            {"email": ""},
            {"email": "OK@x.org", "first_name": "Dup"},
            {"email": "long@x.org", "donor_id": "x" * 65},
        ],
    )
    assert result.created == 1
    assert [(p.line, p.message) for p in result.errors] == [
        (2, "“not-an-email” is not a valid email address."),
        (3, "Email is missing."),
        (4, "Duplicate email in file: OK@x.org already appears on line 1."),
        (5, "Donor ID is longer than 64 characters."),
    ]
    assert Contact.objects.get(portal=portal_a).first_name == ""  # the duplicate did not overwrite


def test_upsert_does_not_query_per_row(portal_a):
    services.contact_upsert_many(portal=portal_a, rows=[{"email": f"p{i}@x.org"} for i in range(300)])
    rows = [{"email": f"p{i}@x.org", "first_name": "New"} for i in range(600)]
    with CaptureQueriesContext(connection) as ctx:
        result = services.contact_upsert_many(portal=portal_a, rows=rows)
    assert (result.created, result.updated) == (300, 300)
    assert len(ctx.captured_queries) <= 6  # savepoint, 1 lookup, 1 insert-or-update, release


def test_unsubscribe_and_bounce_are_not_touched_by_upsert(portal_a):
    from django.utils import timezone

    contact = make_contact(portal_a, email="u@x.org", unsubscribed_at=timezone.now())
    services.contact_upsert_many(portal=portal_a, rows=[{"email": "u@x.org", "first_name": "U"}])
    contact.refresh_from_db()
    assert contact.unsubscribed_at is not None and contact.first_name == "U"


def test_contact_update_keeps_derived_fields_in_step(portal_a):
    contact = make_contact(portal_a, email="a@x.org", donor_id="1004422")
    services.contact_update(contact=contact, donor_id="003RO0000035WQgYAM", email="A.New@x.org", first_name="Ann")
    contact.refresh_from_db()
    assert (contact.donor_id_status, contact.email_normalized) == ("contact", "a.new@x.org")
    assert "ann" in contact.search_text and "003ro0000035wqgyam" in contact.search_text
    services.contact_update(contact=contact, donor_id="")
    contact.refresh_from_db()
    assert (contact.donor_id, contact.donor_id_status) == ("", "")


def test_contact_update_refuses_an_email_taken_in_the_portal(portal_a):
    make_contact(portal_a, email="taken@x.org")
    contact = make_contact(portal_a, email="mine@x.org")
    with pytest.raises(ValidationError) as e:
        services.contact_update(contact=contact, email="TAKEN@x.org")
    assert "already has this email" in str(e.value)
    contact.refresh_from_db()
    assert contact.email == "mine@x.org"


def test_contact_list_search_and_filter(portal_a, portal_b):
    make_contact(portal_a, email="jane@x.org", first_name="Jane", last_name="Smith", donor_id="1004422")
    make_contact(portal_a, email="bob@x.org", first_name="Bob", last_name="Jones", donor_id="003RO0000035WQg")
    make_contact(portal_b, email="jane@x.org", first_name="Jane", last_name="Smith", donor_id="1004422")

    def emails(**kw):
        return [c.email for c in selectors.contact_list(portal=portal_a, **kw)]

    assert emails() == ["bob@x.org", "jane@x.org"]  # by last name
    assert emails(q="jane smith") == ["jane@x.org"]
    assert emails(q="  SMITH ") == ["jane@x.org"]
    assert emails(q="bob@X") == ["bob@x.org"]
    assert emails(q="003ro0000035") == ["bob@x.org"]
    assert emails(q="100%") == []  # LIKE wildcards are escaped
    assert emails(invalid_only=True) == ["jane@x.org"]
    assert emails(q="bob", invalid_only=True) == []


def test_trigram_index_exists_on_postgresql(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'contact_search_trgm'")
        (definition,) = cursor.fetchone()
    assert "gin_trgm_ops" in definition


def test_demo_seed_has_invalid_donor_ids(portal_a):
    from contacts import demo

    summary = demo.seed(portal=portal_a)
    assert portal_a.contacts.count() == 60
    invalid = {c.donor_id_reason for c in portal_a.contacts.filter(donor_id_status="invalid")}
    assert {"numeric", "prefix", "checksum"} <= invalid
    assert portal_a.contacts.filter(donor_id_status="lead").exists()
    assert portal_a.contacts.filter(donor_id="1004422").exists()
    assert "with an invalid Donor ID" in summary
    assert demo.seed(portal=portal_a).startswith("0 contacts added")  # idempotent
