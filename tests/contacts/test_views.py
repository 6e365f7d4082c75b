from django.urls import reverse

from contacts.models import Contact
from contacts.views import PER_PAGE
from tests.contacts.factories import make_contact


def list_url(**params):
    from urllib.parse import urlencode

    return reverse("contacts:list", args=["alpha"]) + ("?" + urlencode(params) if params else "")


def edit_url(contact):
    return reverse("contacts:edit", args=["alpha", contact.pk])


def test_list_shows_contacts_with_donor_id_verdict(client_staff_a, portal_a):
    make_contact(portal_a, email="jane@x.org", first_name="Jane", last_name="Smith", donor_id="1004422")
    make_contact(portal_a, email="bob@x.org", first_name="Bob", last_name="Jones", donor_id="003RO0000035WQgYAM")
    body = client_staff_a.get(list_url()).content.decode()
    assert "Jane Smith" in body and "Bob Jones" in body
    assert "Numeric-only IDs like 1004422 are not Salesforce IDs" in body
    assert "Invalid Donor ID (1)" in body


def test_empty_state_offers_import(client_staff_a, portal_a):
    body = client_staff_a.get(list_url()).content.decode()
    assert "No contacts yet." in body and reverse("contacts:import", args=["alpha"]) in body


def test_search_by_name_email_and_donor_id(client_admin_a, portal_a):
    make_contact(portal_a, email="jane@x.org", first_name="Jane", last_name="Smith")
    make_contact(portal_a, email="bob@x.org", first_name="Bob", last_name="Jones", donor_id="003RO0000035WQg")
    for q, shown, hidden in [
        ("jane smith", "jane@x.org", "bob@x.org"),
        ("BOB@", "bob@x.org", "jane@x.org"),
        ("003RO0000035", "bob@x.org", "jane@x.org"),
    ]:
        body = client_admin_a.get(list_url(q=q)).content.decode()
        assert shown in body and hidden not in body, q
    body = client_admin_a.get(list_url(q="nobody")).content.decode()
    assert "No contacts match “nobody”" in body


def test_invalid_filter_lists_only_invalid_donor_ids(client_staff_a, portal_a):
    make_contact(portal_a, email="bad@x.org", donor_id="1004422")
    make_contact(portal_a, email="acct@x.org", donor_id="001D000000IRFmaIAH")
    make_contact(portal_a, email="good@x.org", donor_id="003RO0000035WQgYAM")
    make_contact(portal_a, email="none@x.org")
    body = client_staff_a.get(list_url(filter="invalid")).content.decode()
    assert "bad@x.org" in body and "acct@x.org" in body
    assert "good@x.org" not in body and "none@x.org" not in body
    assert "Starts with 001, which is an Account ID" in body


def test_invalid_filter_empty_state(client_staff_a, portal_a):
    make_contact(portal_a, email="good@x.org", donor_id="003RO0000035WQgYAM")
    body = client_staff_a.get(list_url(filter="invalid")).content.decode()
    assert "No contacts have an invalid Donor ID." in body


def test_pagination_keeps_the_search_and_filter(client_staff_a, portal_a):
    from contacts import services

    services.contact_upsert_many(
        portal=portal_a,
        rows=[{"email": f"p{i:03}@x.org", "last_name": f"Person{i:03}", "donor_id": "1004422"} for i in range(PER_PAGE + 5)],
    )
    first = client_staff_a.get(list_url(filter="invalid", q="person")).content.decode()
    assert "Person000" in first and f"Person{PER_PAGE - 1:03}" in first and f"Person{PER_PAGE:03}" not in first
    assert "q=person&amp;filter=invalid&amp;page=2" in first
    second = client_staff_a.get(list_url(filter="invalid", q="person", page=2)).content.decode()
    assert f"Person{PER_PAGE:03}" in second and "Person000" not in second
    assert "Next" not in second and "Previous" in second
    assert "Showing 51–55" in second
    assert client_staff_a.get(list_url(page="abc")).status_code == 200
    assert "No more contacts" in client_staff_a.get(list_url(page=99)).content.decode()


def test_list_query_count_does_not_grow_with_rows(client_staff_a, portal_a, django_assert_max_num_queries):
    from contacts import services

    services.contact_upsert_many(portal=portal_a, rows=[{"email": f"p{i}@x.org", "donor_id": "1004422"} for i in range(60)])
    with django_assert_max_num_queries(8):
        assert client_staff_a.get(list_url(filter="invalid")).status_code == 200


def test_edit_refuses_an_invalid_donor_id_with_the_reason(client_staff_a, portal_a):
    contact = make_contact(portal_a, email="jane@x.org", first_name="Jane")
    response = client_staff_a.post(
        edit_url(contact), {"email": "jane@x.org", "first_name": "Jane", "last_name": "", "donor_id": "001D000000IRFmaIAH"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Starts with 001, which is an Account ID, not a Contact ID (003…)." in body
    assert 'aria-invalid="true"' in body
    contact.refresh_from_db()
    assert contact.donor_id == ""


def test_edit_offers_the_repaired_id_and_accepting_it_saves(client_staff_a, portal_a):
    contact = make_contact(portal_a, email="jane@x.org")
    data = {"email": "jane@x.org", "first_name": "", "last_name": "", "donor_id": "003ro0000035wqgyam"}
    body = client_staff_a.post(edit_url(contact), data).content.decode()
    assert "Did you mean 003RO0000035WQgYAM?" in body
    assert 'name="donor_id_use" value="003RO0000035WQgYAM"' in body
    response = client_staff_a.post(edit_url(contact), {**data, "donor_id_use": "003RO0000035WQgYAM"})
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.donor_id, contact.donor_id_status) == ("003RO0000035WQgYAM", "contact")


def test_edit_offers_repair_for_an_imported_mangled_id(client_staff_a, portal_a):
    contact = make_contact(portal_a, email="jane@x.org", donor_id="003ro0000035wqgyam")
    body = client_staff_a.get(edit_url(contact)).content.decode()
    assert "This Donor ID is invalid" in body
    assert 'value="003RO0000035WQgYAM"' in body


def test_edit_accepts_a_valid_id_and_returns_to_the_filtered_list(client_staff_a, portal_a):
    contact = make_contact(portal_a, email="jane@x.org", donor_id="1004422")
    back = list_url(filter="invalid")
    response = client_staff_a.post(
        edit_url(contact),
        {"email": "jane@x.org", "first_name": "Jane", "last_name": "Doe", "donor_id": " 003RO0000035WQg ", "next": back},
    )
    assert response.status_code == 302 and response["Location"] == back
    contact.refresh_from_db()
    assert (contact.donor_id, contact.donor_id_status, contact.last_name) == ("003RO0000035WQg", "contact", "Doe")
    follow = client_staff_a.get(back).content.decode()
    assert "Valid Salesforce Contact ID." in follow  # the success message
    assert "No contacts have an invalid Donor ID." in follow  # it dropped out of the filter


def test_edit_clears_the_donor_id(client_admin_a, portal_a):
    contact = make_contact(portal_a, email="jane@x.org", donor_id="1004422")
    response = client_admin_a.post(
        edit_url(contact), {"email": "jane@x.org", "first_name": "", "last_name": "", "donor_id": "1004422", "action": "clear_donor_id"}
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.donor_id, contact.donor_id_status) == ("", "")


def test_edit_keeps_an_unchanged_invalid_id_but_warns(client_staff_a, portal_a):
    contact = make_contact(portal_a, email="jane@x.org", donor_id="1004422")
    response = client_staff_a.post(
        edit_url(contact), {"email": "jane@x.org", "first_name": "Janet", "last_name": "", "donor_id": "1004422"}, follow=True
    )
    assert "The Donor ID is still invalid" in response.content.decode()
    contact.refresh_from_db()
    assert (contact.first_name, contact.donor_id_status) == ("Janet", "invalid")


def test_edit_refuses_an_email_used_by_another_contact(client_staff_a, portal_a):
    make_contact(portal_a, email="taken@x.org")
    contact = make_contact(portal_a, email="jane@x.org")
    response = client_staff_a.post(edit_url(contact), {"email": "Taken@x.org", "donor_id": ""})
    assert response.status_code == 400
    assert "already has this email" in response.content.decode()
    contact.refresh_from_db()
    assert contact.email == "jane@x.org"


def test_edit_ignores_an_offsite_next(client_staff_a, portal_a):
    contact = make_contact(portal_a, email="jane@x.org")
    for evil in ("https://evil.example/", "//evil.example/"):
        response = client_staff_a.post(edit_url(contact), {"email": "jane@x.org", "donor_id": "", "next": evil})
        assert response["Location"] == "/alpha/contacts/"


def test_edit_needs_csrf(portal_a, admin_a):
    from django.test import Client

    contact = make_contact(portal_a, email="jane@x.org")
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_a)
    assert client.post(edit_url(contact), {"email": "x@x.org", "donor_id": ""}).status_code == 403
    contact.refresh_from_db()
    assert contact.email == "jane@x.org"


def test_anonymous_users_are_sent_to_login(client, portal_a):
    response = client.get(list_url())
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_admin_changelist_filters_and_searches(portal_a, db):
    from django.test import Client

    from tests.factories import UserFactory

    support = UserFactory(email="support@thankview.example")
    support.is_staff = support.is_superuser = True
    support.save()
    make_contact(portal_a, email="bad@x.org", donor_id="1004422")
    make_contact(portal_a, email="good@x.org", donor_id="003RO0000035WQg")
    c = Client()
    c.force_login(support)
    body = c.get("/admin/contacts/contact/?donor_id_status__exact=invalid").content.decode()
    assert "bad@x.org" in body and "good@x.org" not in body
    assert "good@x.org" in c.get("/admin/contacts/contact/?q=good").content.decode()
    assert Contact.objects.count() == 2


def test_admin_add_and_change_keep_derived_fields(portal_a, db):
    from django.test import Client

    from tests.factories import UserFactory

    support = UserFactory(email="support2@thankview.example")
    support.is_staff = support.is_superuser = True
    support.save()
    c = Client()
    c.force_login(support)
    form = {"portal": portal_a.pk, "email": " New@X.org ", "first_name": "New", "last_name": "", "donor_id": "1004422",
            "unsubscribed_at_0": "", "unsubscribed_at_1": "", "bounced_at_0": "", "bounced_at_1": ""}
    assert c.post("/admin/contacts/contact/add/", form).status_code == 302
    contact = Contact.objects.get(portal=portal_a)
    assert (contact.email_normalized, contact.donor_id_status) == ("new@x.org", "invalid")
    response = c.post(f"/admin/contacts/contact/{contact.pk}/change/", {**form, "donor_id": "003RO0000035WQg"})
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.donor_id_status == "contact" and "003ro0000035wqg" in contact.search_text
