"""Portal pages: campaigns, sends, API keys. Portal-scoped; admins only for keys."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import timezone

from engagement import services
from engagement.models import ApiKey, Campaign, EngagementEvent, Send, SendJob
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


def _confirm_nonce(html):
    return re.search(r'name="confirm" value="([^"]+)"', html).group(1)


def _send_and_follow(client, url, data, capture):
    confirm = client.post(url, data)  # the counts first; nothing is sent yet
    assert confirm.status_code == 200 and "Send “" in confirm.content.decode()
    with capture(execute=True):  # the tasks run (eagerly) once the request commits ...
        r = client.post(url, {"confirm": _confirm_nonce(confirm.content.decode())})
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


def test_sending_asks_for_confirmation_with_the_exact_counts_and_sends_nothing_before(
    client_staff_a, portal_a, portal_b, django_capture_on_commit_callbacks
):
    campaign = make_campaign(portal_a)
    for i in range(3):
        make_contact(portal_a, email=f"ok{i}@example.org")
    make_contact(portal_a, email="gone@example.org", unsubscribed_at=timezone.now())
    make_contact(portal_a, email="both@example.org", unsubscribed_at=timezone.now(), bounced_at=timezone.now())
    make_contact(portal_a, email="bad@example.org", bounced_at=timezone.now())
    make_contact(portal_b, email="other@example.org")
    url = f"/alpha/campaigns/{campaign.pk}/send/"

    with django_capture_on_commit_callbacks(execute=True):
        r = client_staff_a.post(url, {"recipients": "all"})
    html = r.content.decode()
    assert r.status_code == 200
    assert "<strong>3 contacts</strong> will get an email" in html
    assert "<li>2 skipped: unsubscribed from your emails.</li>" in html
    assert "<li>1 skipped: their email address bounced.</li>" in html
    assert ">Send to 3 contacts</button>" in html
    assert (SendJob.objects.count(), Send.objects.count()) == (0, 0)

    csv = SimpleUploadedFile(
        "r.csv", b"email\nok0@example.org\ngone@example.org\nnobody@example.org\nother@example.org\n"
    )
    html = client_staff_a.post(url, {"recipients": "csv", "csv_file": csv}).content.decode()
    assert "<strong>1 contact</strong> will get an email" in html
    assert "<li>1 skipped: unsubscribed from your emails.</li>" in html
    assert "bounced" not in html
    assert "<li>2 emails in the file are not a contact: not sent.</li>" in html  # portal B's too
    assert (SendJob.objects.count(), Send.objects.count()) == (0, 0)

    # Confirming sends what was shown last (the CSV), once.
    nonce = _confirm_nonce(html)
    with django_capture_on_commit_callbacks(execute=True):
        r = client_staff_a.post(url, {"confirm": nonce})
    assert r.status_code == 302
    assert list(Send.objects.values_list("contact__email", flat=True)) == ["ok0@example.org"]
    r = client_staff_a.post(url, {"confirm": nonce}, follow=True)
    assert "That confirmation is no longer valid" in r.content.decode()
    assert (SendJob.objects.count(), Send.objects.count()) == (1, 1)


def test_a_forged_or_replaced_confirmation_sends_nothing(client_staff_a, portal_a):
    campaign = make_campaign(portal_a)
    make_contact(portal_a, email="ann@example.org")
    url = f"/alpha/campaigns/{campaign.pk}/send/"
    assert client_staff_a.post(url, {"confirm": "guess"}).status_code == 302
    first = _confirm_nonce(client_staff_a.post(url, {"recipients": "all"}).content.decode())
    client_staff_a.post(url, {"recipients": "search", "q": "nobody"})  # another tab replaced it
    r = client_staff_a.post(url, {"confirm": first}, follow=True)
    assert "That confirmation is no longer valid" in r.content.decode()
    assert (SendJob.objects.count(), Send.objects.count()) == (0, 0)


def test_nobody_to_send_to_offers_no_send_button(client_staff_a, portal_a):
    campaign = make_campaign(portal_a)
    make_contact(portal_a, email="gone@example.org", unsubscribed_at=timezone.now())
    html = client_staff_a.post(f"/alpha/campaigns/{campaign.pk}/send/", {"recipients": "all"}).content.decode()
    assert "<strong>No one to send to:</strong>" in html and 'name="confirm"' not in html
    assert "<li>1 skipped: unsubscribed from your emails.</li>" in html


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
    assert client_b.post(f"/beta/campaigns/{send.campaign_id}/send/", {"confirm": "x"}).status_code == 404


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
