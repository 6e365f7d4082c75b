"""Names, subjects and other header-bound text are normalised when stored: NUL, control
and bidi-override characters are removed and line breaks become spaces, so a recipient
whose name held a newline is still emailed (no BadHeaderError)."""

import json

import pytest
from django.core import mail
from django.test import Client

from contacts import services as contact_services
from contacts.models import Contact
from engagement import services
from engagement.models import Campaign, Send
from tests.engagement.factories import make_api_key, make_campaign
from thankview.services import portal_create_or_update
from thankview.text import one_line


@pytest.mark.parametrize(
    "given,stored",
    [
        ("Ann\nSmith", "Ann Smith"),
        ("Ann\r\nBcc: x@evil.example", "Ann Bcc: x@evil.example"),
        ("Ann\u2028Lee", "Ann Lee"),
        ("\x1b[31mRed\x1b[0m", "[31mRed[0m"),
        ("Bob\x00", "Bob"),
        ("abc\u202egpj.exe", "abcgpj.exe"),
        ("\u2066isolated\u2069 \u200fmark", "isolated mark"),
        ("Zoë 🙂 O’Neil", "Zoë 🙂 O’Neil"),
        ("  padded\t", "padded"),
    ],
)
def test_one_line(given, stored):
    assert one_line(given) == stored


@pytest.fixture
def api(portal_a):
    _, raw = make_api_key(portal_a)
    return {"Authorization": f"Bearer {raw}"}


def test_a_newline_in_a_recipient_name_is_stored_as_a_space_and_the_email_goes_out(portal_a, api):
    campaign = make_campaign(portal_a)
    body = {"recipients": [{"email": "nl@example.org", "first_name": "Ann\r\nBcc: x@evil.example", "last_name": "\u202eLee\x1b"}]}
    response = Client().post(
        f"/api/v1/campaigns/{campaign.pk}/sends", json.dumps(body), content_type="application/json", headers=api
    )
    assert response.status_code == 201
    assert response.json()["created"] == 1
    contact = Contact.objects.get(email="nl@example.org")
    assert (contact.first_name, contact.last_name) == ("Ann Bcc: x@evil.example", "Lee")
    send = Send.objects.get(contact=contact)
    message = services.send_email_build(send=send)
    message.send()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Alpha University: a video for you, Ann Bcc: x@evil.example"
    assert mail.outbox[0].to == ["nl@example.org"]
    assert "Bcc" not in mail.outbox[0].message().keys()


def test_a_nul_in_a_recipient_name_is_removed_but_a_nul_in_an_email_is_refused(portal_a, api):
    campaign = make_campaign(portal_a)
    ok = {"recipients": [{"email": "nul@example.org", "first_name": "B\u0000ob"}]}
    response = Client().post(f"/api/v1/campaigns/{campaign.pk}/sends", json.dumps(ok), content_type="application/json", headers=api)
    assert response.status_code == 201
    assert Contact.objects.get(email="nul@example.org").first_name == "Bob"
    bad = {"recipients": [{"email": "n\u0000ul@example.org"}]}
    response = Client().post(f"/api/v1/campaigns/{campaign.pk}/sends", json.dumps(bad), content_type="application/json", headers=api)
    assert response.status_code == 422
    assert Contact.objects.filter(portal=portal_a).count() == 1


def test_imported_and_edited_names_are_normalised(portal_a):
    data = "Email,First Name,Last Name\nimp@example.org,\"Multi\nLine\",\u202eevil\n".encode()
    result = contact_services.contact_import_csv(portal=portal_a, data=data)
    assert (result.created, result.rejected) == (1, 0)
    contact = Contact.objects.get(email="imp@example.org")
    assert (contact.first_name, contact.last_name) == ("Multi Line", "evil")
    contact_services.contact_update(contact=contact, first_name="Ed\x07\nWard", last_name="O\u202dK")
    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name) == ("Ed Ward", "OK")


def test_campaign_and_portal_names_are_normalised(portal_a, api):
    response = Client().post(
        "/api/v1/campaigns",
        json.dumps({"name": "Spring\nGala\u202e", "video_url": "https://v.example/a.mp4", "cta_label": "Give\r\nnow", "cta_url": "https://give.example"}),
        content_type="application/json", headers=api,
    )
    assert response.status_code == 201
    assert response.json()["name"] == "Spring Gala"
    assert Campaign.objects.get().cta_label == "Give now"
    portal, _, _ = portal_create_or_update(slug="gamma", name="Gamma\r\nCollege\x00", admin_email="g@gamma.example")
    assert portal.name == "Gamma College"
