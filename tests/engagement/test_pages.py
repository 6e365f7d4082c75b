"""Portal pages: campaigns, sends, API keys. Portal-scoped; admins only for keys."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from engagement import services
from engagement.models import ApiKey, Campaign, EngagementEvent, Send
from tests.contacts.factories import make_contact
from tests.engagement.factories import make_campaign, make_send


def test_campaign_list_empty_state_then_lists_the_portals_campaigns(client_staff_a, portal_a, portal_b):
    response = client_staff_a.get("/alpha/campaigns/")
    assert response.status_code == 200 and "No campaigns yet." in response.content.decode()
    make_campaign(portal_a, name="Alpha thanks")
    make_campaign(portal_b, name="Beta secret")
    html = client_staff_a.get("/alpha/campaigns/").content.decode()
    assert "Alpha thanks" in html and "Beta secret" not in html


def test_staff_create_a_campaign(client_staff_a, portal_a, staff_a):
    response = client_staff_a.post(
        "/alpha/campaigns/new/",
        {"name": "Year-end", "video_url": "https://v.example/a.webm", "cta_label": "Give", "cta_url": "https://give.example"},
    )
    campaign = Campaign.objects.get(portal=portal_a)
    assert response.status_code == 302 and response["Location"] == f"/alpha/campaigns/{campaign.pk}/send/"
    assert campaign.name == "Year-end" and campaign.created_by == staff_a


def test_campaign_form_reports_bad_input_and_stores_nothing(client_staff_a):
    response = client_staff_a.post(
        "/alpha/campaigns/new/", {"name": "", "video_url": "javascript:alert(1)", "cta_label": "Give", "cta_url": ""}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'aria-invalid="true"' in html and "Enter the address the button opens." in html
    assert Campaign.objects.count() == 0


def _send_and_follow(client, url, data, capture):
    with capture(execute=True):  # the tasks run (eagerly) once the request commits ...
        r = client.post(url, data)
    assert r.status_code == 302 and "/sending/" in r["Location"]
    return client.get(r["Location"])  # ... so the progress page shows the outcome


def test_send_page_sends_to_all_a_search_or_a_csv(client_staff_a, portal_a, django_capture_on_commit_callbacks, mailoutbox):
    """The Send button queues a job and shows its progress page (the Sends are created and
    emailed by tasks, which run inline after commit here)."""
    campaign = make_campaign(portal_a)
    ann = make_contact(portal_a, email="ann@example.org", first_name="Ann")
    bob = make_contact(portal_a, email="bob@example.org", first_name="Bob")
    url = f"/alpha/campaigns/{campaign.pk}/send/"
    r = _send_and_follow(client_staff_a, url, {"recipients": "search", "q": "ann"}, django_capture_on_commit_callbacks)
    assert "Done: 1 of 1 emails delivered." in r.content.decode()
    assert list(Send.objects.values_list("contact_id", flat=True)) == [ann.pk]
    assert [m.to for m in mailoutbox] == [["ann@example.org"]]

    csv = SimpleUploadedFile("r.csv", b"email\nBOB@example.org\nnobody@example.org\n", content_type="text/csv")
    r = _send_and_follow(client_staff_a, url, {"recipients": "csv", "csv_file": csv}, django_capture_on_commit_callbacks)
    html = r.content.decode()
    assert "Done: 1 of 1 emails delivered." in html
    assert 'Emails in the file that are not contacts</dt><dd data-progress-field="not_found">1</dd>' in html
    assert Send.objects.filter(contact=bob).count() == 1

    r = _send_and_follow(client_staff_a, url, {"recipients": "all"}, django_capture_on_commit_callbacks)
    assert "Done: 2 of 2 emails delivered." in r.content.decode()


def test_send_page_refuses_bad_choices(client_staff_a, portal_a):
    campaign = make_campaign(portal_a)
    r = client_staff_a.post(f"/alpha/campaigns/{campaign.pk}/send/", {"recipients": "search", "q": ""})
    assert r.status_code == 400 and "Enter what to search for." in r.content.decode()
    bad = SimpleUploadedFile("r.csv", b"\xff\xfe\x00garbage", content_type="text/csv")
    r = client_staff_a.post(f"/alpha/campaigns/{campaign.pk}/send/", {"recipients": "csv", "csv_file": bad})
    assert r.status_code == 400 and "UTF-8" in r.content.decode()
    assert Send.objects.count() == 0


def test_campaign_detail_shows_per_send_engagement_and_totals(client_staff_a, portal_a):
    send = make_send(portal_a, email="dana@example.org", first_name="Dana")
    for type_ in ["clicked", "started_watching", "finished_watching", "cta_clicked"]:
        services.event_record(send=send, type=type_)
    services.event_record(send=send, type="text_reply", data={"text": "Lovely video"})
    html = client_staff_a.get(f"/alpha/campaigns/{send.campaign_id}/").content.decode()
    assert "Dana" in html and 'title="Lovely video"' in html
    assert html.count('<span class="badge ok">Yes</span>') == 4  # opened (implied), watched, finished, CTA


def test_send_detail_shows_the_timeline(client_staff_a, portal_a):
    send = make_send(portal_a)
    services.event_record(send=send, type="opened")
    services.event_record(send=send, type="text_reply", data={"text": "Thanks a lot"})
    r = client_staff_a.get(f"/alpha/campaigns/{send.campaign_id}/sends/{send.pk}/")
    html = r.content.decode()
    assert r.status_code == 200 and "Event timeline" in html and "Thanks a lot" in html and "Text reply" in html


def test_another_portals_campaigns_and_sends_are_404(client_b, portal_a):
    send = make_send(portal_a)
    for url in [
        "/alpha/campaigns/",
        f"/beta/campaigns/{send.campaign_id}/",
        f"/beta/campaigns/{send.campaign_id}/send/",
        f"/beta/campaigns/{send.campaign_id}/sends/{send.pk}/",
    ]:
        assert client_b.get(url).status_code == 404, url
    assert client_b.post(f"/beta/campaigns/{send.campaign_id}/send/", {"recipients": "all"}).status_code == 404


# --- API keys ----------------------------------------------------------------------------


def test_api_keys_page_is_for_portal_admins_only(client_staff_a, client_b, portal_a):
    assert client_staff_a.get("/alpha/api-keys/").status_code == 403
    assert client_staff_a.post("/alpha/api-keys/", {"name": "x"}).status_code == 403
    assert client_b.get("/alpha/api-keys/").status_code == 404
    assert ApiKey.objects.count() == 0


def test_admin_creates_a_key_shown_once_and_stored_hashed(client_admin_a, portal_a):
    r = client_admin_a.post("/alpha/api-keys/", {"name": "CRM export"}, follow=True)
    html = r.content.decode()
    key = ApiKey.objects.get(portal=portal_a)
    raw = html.split('id="new-api-key" type="text" readonly value="')[1].split('"')[0]
    assert raw.startswith(f"tvk_{key.prefix}_") and key.hashed_key == ApiKey.hash(raw)
    assert raw not in key.hashed_key and services.apikey_authenticate(raw) == key
    assert raw not in client_admin_a.get("/alpha/api-keys/").content.decode()  # shown once


def test_admin_revokes_a_key_after_confirming(client_admin_a, portal_a, portal_b):
    key, raw = services.apikey_create(portal=portal_a, name="Old")
    confirm = client_admin_a.get(f"/alpha/api-keys/{key.pk}/revoke/")
    assert "Revoke “Old”?" in confirm.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None  # the GET only asks
    client_admin_a.post(f"/alpha/api-keys/{key.pk}/revoke/")
    key.refresh_from_db()
    assert key.revoked_at is not None and services.apikey_authenticate(raw) is None
    other, _ = services.apikey_create(portal=portal_b, name="Beta")
    assert client_admin_a.post(f"/alpha/api-keys/{other.pk}/revoke/").status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None


def test_create_api_key_command_prints_only_the_key(portal_a, capsys):
    call_command("create_api_key", "alpha", "--name", "Automation")
    out = capsys.readouterr().out
    raw = out.strip()
    assert out == raw + "\n" and raw.startswith("tvk_")
    assert services.apikey_authenticate(raw).portal == portal_a
    with pytest.raises(CommandError, match="No portal"):
        call_command("create_api_key", "nope")


def test_bounce_secret_can_be_replaced(client_admin_a, portal_a):
    old = services.portal_email_settings_get(portal=portal_a).bounce_webhook_secret
    assert old in client_admin_a.get("/alpha/api-keys/").content.decode()
    client_admin_a.post("/alpha/api-keys/bounce-secret/rotate/")
    assert services.portal_email_settings_get(portal=portal_a).bounce_webhook_secret != old


def test_events_cannot_be_changed():
    from django.core.exceptions import ValidationError

    event = EngagementEvent(type="opened")
    event._state.adding = False
    with pytest.raises(ValidationError):
        event.save()
