"""The guide's words on the pages: one status word, admin names in plain English, one error
per form field."""

from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from integrations.models import SalesforceRecord
from tests.engagement.factories import make_send


def test_a_synced_send_says_synced_once(client_admin_a, connected_portal_a):
    send = make_send(connected_portal_a, email="pat@example.org")
    conn = connected_portal_a.salesforce_connection
    SalesforceRecord.objects.create(
        send=send, portal=connected_portal_a, org_id=conn.org_id, status=SalesforceRecord.Status.SYNCED,
        record_id="a0B000000000001AAA", last_synced_cutoff=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
    )
    url = reverse("engagement:send_detail", args=[connected_portal_a.slug, send.campaign_id, send.pk])
    page = client_admin_a.get(url).content.decode()
    assert '<span class="badge ok">Synced</span> Up to date in Salesforce.</p>' in page
    assert page.count("Synced") == 1
    assert '<time datetime="2026-03-02T09:30:00Z" title="2026-03-02 09:30:00 UTC">2 Mar 2026, 09:30 UTC</time>' in page


def test_admin_names_read_as_english(db):
    assert SalesforceRecord._meta.verbose_name_plural == "Salesforce records"
    admin = get_user_model().objects.create_superuser("root", "root@example.org", "pw-root-1234")
    client = Client()
    client.force_login(admin)
    page = client.get(reverse("admin:index")).content.decode()
    assert ">Salesforce records<" in page
    assert "record of a send" not in page


def test_a_bad_campaign_field_gets_one_error(client_admin_a, portal_a):
    resp = client_admin_a.post(
        reverse("engagement:campaign_create", args=[portal_a.slug]),
        {"name": "Spring", "video_url": "not a url", "cta_label": "", "cta_url": ""},
    )
    assert resp.status_code == 400
    assert resp.context["form"].errors == {"video_url": ["Enter a valid URL."]}
    assert "This field cannot be blank." not in resp.content.decode()
