"""A member of portal B reaches none of portal A's contacts pages (404, no existence leak),
and a portal A user cannot reach B's contacts through A's URLs either."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contacts.models import Contact
from tests.contacts.factories import make_contact


@pytest.fixture
def a_contact(portal_a):
    return make_contact(portal_a, email="secret@alpha.example", first_name="Secret", donor_id="1004422")


def portal_a_urls(contact):
    return [
        reverse("contacts:list", args=["alpha"]),
        reverse("contacts:list", args=["alpha"]) + "?filter=invalid",
        reverse("contacts:list", args=["alpha"]) + "?q=secret",
        reverse("contacts:edit", args=["alpha", contact.pk]),
        reverse("contacts:import", args=["alpha"]),
        reverse("contacts:export", args=["alpha"]),
    ]


def test_member_of_b_gets_404_on_every_contacts_url_of_a(client_b, a_contact):
    for url in portal_a_urls(a_contact):
        response = client_b.get(url)
        assert response.status_code == 404, url
        assert b"secret@alpha.example" not in response.content


def test_member_of_b_cannot_post_to_a(client_b, a_contact):
    edit = client_b.post(
        reverse("contacts:edit", args=["alpha", a_contact.pk]),
        {"email": "stolen@beta.example", "donor_id": ""},
    )
    imported = client_b.post(
        reverse("contacts:import", args=["alpha"]),
        {"file": SimpleUploadedFile("c.csv", b"Email\nintruder@beta.example\n")},
    )
    assert (edit.status_code, imported.status_code) == (404, 404)
    a_contact.refresh_from_db()
    assert a_contact.email == "secret@alpha.example"
    assert not Contact.objects.filter(email_normalized="intruder@beta.example").exists()


def test_b_contact_id_under_own_portal_is_404(client_b, a_contact, portal_b):
    # Portal B's member asks for A's contact through B's own URL: the id is scoped to B.
    url = reverse("contacts:edit", args=["beta", a_contact.pk])
    assert client_b.get(url).status_code == 404
    assert client_b.post(url, {"email": "x@beta.example", "donor_id": ""}).status_code == 404


def test_b_export_and_list_contain_only_b(client_b, a_contact, portal_b):
    make_contact(portal_b, email="mine@beta.example")
    listing = client_b.get(reverse("contacts:list", args=["beta"]) + "?q=example").content
    export = b"".join(client_b.get(reverse("contacts:export", args=["beta"])).streaming_content)
    for body in (listing, export):
        assert b"mine@beta.example" in body and b"secret@alpha.example" not in body


def test_staff_and_admins_may_use_all_contacts_pages(client_staff_a, client_admin_a, a_contact):
    for client in (client_staff_a, client_admin_a):
        for url in portal_a_urls(a_contact):
            assert client.get(url).status_code == 200, url
