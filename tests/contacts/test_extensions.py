"""The contacts list's extension point: filters a higher app registers (the Salesforce sync's
"No Salesforce match"), and a contacts app that works with none registered."""

import pytest

from contacts import extensions, selectors
from contacts.extensions import ContactListFilter
from tests.contacts.factories import make_contact

LIST_URL = "/alpha/contacts/"


@pytest.fixture
def no_filters(monkeypatch):
    monkeypatch.setattr(extensions, "_list_filters", {})


def test_the_salesforce_filter_is_registered_by_the_integration():
    registered = extensions.contact_list_filter_get("unmatched")
    assert registered.label == "No Salesforce match"
    assert [f.slug for f in extensions.contact_list_filters()] == ["unmatched"]


def test_with_nothing_registered_the_list_offers_only_its_own_filters(no_filters, client_staff_a, portal_a):
    make_contact(portal_a, email="ann@example.org")
    html = client_staff_a.get(LIST_URL).content.decode()
    assert '<option value="invalid"' in html
    assert 'value="unmatched"' not in html and "No Salesforce match" not in html


def test_with_nothing_registered_an_unknown_filter_shows_every_contact(no_filters, client_staff_a, portal_a):
    make_contact(portal_a, email="ann@example.org")
    make_contact(portal_a, email="bob@example.org")
    html = client_staff_a.get(LIST_URL, {"filter": "unmatched"}).content.decode()
    assert "ann@example.org" in html and "bob@example.org" in html
    assert "Contacts the last Salesforce sync could not match" not in html


def test_a_registered_filter_narrows_the_list_and_fills_the_page_texts(no_filters, client_staff_a, portal_a):
    make_contact(portal_a, email="ann@example.org")
    make_contact(portal_a, email="bob@example.org")
    extensions.contact_list_filter_register(
        ContactListFilter(
            slug="anns",
            label="Only Ann",
            apply=lambda portal, qs: qs.filter(email="ann@example.org"),
            caption="called Ann",
            empty="Nobody is called Ann.",
            help="Contacts called Ann.",
        )
    )
    html = client_staff_a.get(LIST_URL, {"filter": "anns"}).content.decode()
    assert '<option value="anns" selected>Only Ann</option>' in html
    assert "ann@example.org" in html and "bob@example.org" not in html
    assert "Showing 1–1 called Ann" in html and '<p class="muted">Contacts called Ann.</p>' in html
    html = client_staff_a.get(LIST_URL, {"filter": "anns", "q": "zed"}).content.decode()
    assert "No contacts match “zed” among those called Ann." in html


def test_the_selector_applies_a_filter_after_scoping_to_the_portal(portal_a, portal_b):
    make_contact(portal_a, email="ann@example.org")
    make_contact(portal_b, email="ann@example.org")
    everyone = ContactListFilter(slug="all", label="All", apply=lambda portal, qs: qs, caption="", empty="")
    assert [c.portal_id for c in selectors.contact_list(portal=portal_a, list_filter=everyone)] == [portal_a.pk]
