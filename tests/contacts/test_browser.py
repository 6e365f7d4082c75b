"""The guide's fix for "Invalid Salesforce ID", driven in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from tests.contacts.factories import make_contact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_filters_invalid_donor_ids_fixes_one_and_it_drops_out(login, live_server, admin_a, portal_a):
    make_contact(portal_a, email="numeric@alpha.example", first_name="Nora", last_name="Numeric", donor_id="1004422")
    make_contact(portal_a, email="account@alpha.example", first_name="Abe", last_name="Account", donor_id="001D000000IRFmaIAH")
    make_contact(portal_a, email="fine@alpha.example", first_name="Fay", last_name="Fine", donor_id="003RO0000035WQgYAM")

    page = login(admin_a)
    page.get_by_role("link", name="Contacts").click()
    page.get_by_label("Show").select_option(label="Invalid Donor ID (2)")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"filter=invalid"))
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(page.get_by_text("Fay Fine")).to_have_count(0)
    expect(page.get_by_text("Numeric-only IDs like 1004422 are not Salesforce IDs")).to_be_visible()

    page.get_by_role("link", name="Edit Nora Numeric").click()
    donor_id = page.get_by_label("Donor ID")
    # A wrong ID is refused with the reason ...
    donor_id.fill("001D000000IRFmaIAH")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Starts with 001, which is an Account ID")
    expect(page.get_by_label("Donor ID")).to_have_attribute("aria-invalid", "true")
    # ... a spreadsheet-mangled one is repaired on request.
    page.get_by_label("Donor ID").fill("003ro0000035wqgyam")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Use 003RO0000035WQgYAM").click()

    expect(page).to_have_url(re.compile(r"/alpha/contacts/\?(q=&)?filter=invalid$"))
    expect(page.get_by_role("status")).to_contain_text("Saved Nora Numeric")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody").get_by_text("Nora Numeric")).to_have_count(0)
    expect(page.get_by_text("Abe Account")).to_be_visible()
    expect(page.get_by_label("Show")).to_have_value("invalid")


def test_enter_in_the_form_saves_what_was_typed_not_the_suggestion(login, live_server, admin_a, portal_a):
    contact = make_contact(portal_a, email="m@alpha.example", first_name="Max", donor_id="003ro0000035wqgyam")
    page = login(admin_a)
    page.goto(f"{live_server.url}/alpha/contacts/{contact.pk}/edit/")
    expect(page.get_by_role("button", name="Use 003RO0000035WQgYAM")).to_be_visible()
    page.get_by_label("First name").fill("Maxine")
    page.get_by_label("First name").press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Saved Maxine")
    contact.refresh_from_db()
    assert (contact.first_name, contact.donor_id) == ("Maxine", "003ro0000035wqgyam")
