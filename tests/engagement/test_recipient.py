"""Recipient endpoints: public, token-bound, each recording its event; nothing leaks."""

import json
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from engagement import jobs, services
from engagement.models import EngagementEvent
from engagement.public_views import PIXEL_GIF
from engagement.selectors import send_states
from tests.engagement.factories import make_campaign, make_send

WEBM = (Path(__file__).resolve().parents[2] / "static" / "video" / "thankyou.webm").read_bytes()


@pytest.fixture
def send(portal_a):
    return make_send(portal_a, email="donor@example.org", first_name="Dana")


def types(send):
    return list(EngagementEvent.objects.filter(send=send).order_by("id").values_list("type", flat=True))


def state(send):
    return send_states([send.pk])[send.pk]


def test_open_pixel_is_a_real_uncacheable_gif_and_records_opened(client, send):
    response = client.get(f"/t/{send.token}/open.gif")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert response.content == PIXEL_GIF and response.content.startswith(b"GIF89a")
    assert "no-store" in response["Cache-Control"] and response["Pragma"] == "no-cache"
    assert types(send) == ["opened"]


@pytest.mark.parametrize(
    "method,url",
    [
        ("get", "/t/{t}/open.gif"),
        ("get", "/v/{t}/"),
        ("get", "/v/{t}/cta/"),
        ("get", "/v/{t}/download/"),
        ("post", "/v/{t}/share/"),
        ("post", "/v/{t}/events/"),
        ("post", "/v/{t}/reply/text/"),
        ("post", "/v/{t}/reply/video/"),
        ("get", "/u/{t}/"),
        ("post", "/u/{t}/"),
    ],
)
def test_a_guessed_token_is_a_plain_404_that_says_nothing(client, send, method, url):
    guessed = send.token[:-2] + ("AA" if not send.token.endswith("AA") else "BB")
    response = getattr(client, method)(url.format(t=guessed))
    assert response.status_code == 404
    assert response.content == b"Not found.\n"
    assert EngagementEvent.objects.count() == 0


def test_landing_page_records_clicked_and_shows_video_cta_and_reply_forms(client, send):
    response = client.get(f"/v/{send.token}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert send.campaign.name in html and "Dana" in html
    assert f'src="{send.campaign.video_url}"' in html
    assert f"/v/{send.token}/cta/" in html and "Give again" in html
    assert f"/v/{send.token}/download/" in html
    assert "Reply with a message" in html and "Reply with a video" in html
    assert "no-store" in response["Cache-Control"]
    assert types(send) == ["clicked"]
    s = state(send)
    assert s.clicked and s.opened  # the click proves the open


def test_cta_redirects_only_to_the_campaigns_own_url(client, send):
    response = client.get(f"/v/{send.token}/cta/?next=https://evil.example/&url=https://evil.example/")
    assert response.status_code == 302
    assert response["Location"] == "https://give.example.org/now"
    assert types(send) == ["cta_clicked"]


def test_cta_of_a_campaign_without_one_is_404(client, portal_a):
    send = make_send(portal_a, campaign=make_campaign(portal_a, cta_label="", cta_url=""))
    assert client.get(f"/v/{send.token}/cta/").status_code == 404
    assert types(send) == []


def test_download_records_and_redirects_to_the_campaign_video(client, send):
    response = client.get(f"/v/{send.token}/download/")
    assert response.status_code == 302 and response["Location"] == send.campaign.video_url
    assert types(send) == ["downloaded"]


def test_share_records_and_shows_the_link_to_share(client, send):
    response = client.post(f"/v/{send.token}/share/", follow=True)
    assert response.status_code == 200
    assert "Share this video</h2>" in response.content.decode()
    assert types(send) == ["shared"]  # the redirect back does not count another click


def test_player_events_are_recorded(client, send):
    url = f"/v/{send.token}/events/"
    for type_ in ["started_watching", "finished_watching", "started_watching"]:
        response = client.post(url, json.dumps({"type": type_}), content_type="application/json")
        assert response.status_code == 204
    s = state(send)
    assert s.started_watching and s.finished_watching and s.views == 2


@pytest.mark.parametrize(
    "body,reason",
    [
        (b"{not json", b"JSON"),
        (json.dumps({"type": "cta_clicked"}).encode(), b"type must be"),
        (json.dumps({"type": "bounced"}).encode(), b"type must be"),
        (json.dumps(["started_watching"]).encode(), b"type must be"),
    ],
)
def test_player_events_refuse_bad_input(client, send, body, reason):
    response = client.post(f"/v/{send.token}/events/", body, content_type="application/json")
    assert response.status_code == 400 and reason in response.content
    assert types(send) == []


def test_text_reply_is_stored_in_full(client, send):
    text = "Thank you! " * 40
    response = client.post(f"/v/{send.token}/reply/text/", {"text-text": text})
    assert response.status_code == 302 and response["Location"].endswith("?done=text")
    assert state(send).text_reply == text.strip()
    assert len(state(send).text_reply_255) == 255
    page = client.get(response["Location"])
    assert "Your reply was sent" in page.content.decode()


def test_empty_or_oversized_text_reply_is_refused_with_a_message(client, send):
    response = client.post(f"/v/{send.token}/reply/text/", {"text-text": "   "})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    response = client.post(f"/v/{send.token}/reply/text/", {"text-text": "x" * (services.MAX_TEXT_REPLY + 1)})
    assert response.status_code == 400
    assert types(send) == []


def test_video_reply_by_link(client, send):
    response = client.post(f"/v/{send.token}/reply/video/", {"video-url": "https://youtu.example/watch?v=1"})
    assert response.status_code == 302
    assert state(send).video_reply == "https://youtu.example/watch?v=1"


def test_video_reply_upload_is_stored_with_the_storage_api(client, send, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("my reply.webm", WEBM, content_type="video/webm")
    response = client.post(f"/v/{send.token}/reply/video/", {"video-file": upload})
    assert response.status_code == 302
    event = EngagementEvent.objects.get(send=send, type="video_reply")
    assert default_storage.exists(event.data["file"])
    with default_storage.open(event.data["file"]) as stored:
        assert stored.read() == WEBM
    assert event.data["url"].startswith(settings.SITE_URL + "/media/video-replies/")
    assert state(send).video_reply == event.data["url"]


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("evil.html", b"<script>alert(1)</script>", "Upload a WebM, MP4 or MOV video."),
        ("fake.mp4", b"<script>alert(1)</script>" * 3, "not a video"),
    ],
)
def test_video_reply_refuses_files_that_are_not_videos(client, send, settings, tmp_path, name, content, message):
    settings.MEDIA_ROOT = tmp_path
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(f"/v/{send.token}/reply/video/", {"video-file": SimpleUploadedFile(name, content)})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert types(send) == [] and not any(tmp_path.iterdir())


def test_video_reply_refuses_oversized_files_bad_links_and_nothing(client, send, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.VIDEO_REPLY_MAX_BYTES = 1000
    from django.core.files.uploadedfile import SimpleUploadedFile

    big = client.post(f"/v/{send.token}/reply/video/", {"video-file": SimpleUploadedFile("a.webm", WEBM)})
    assert big.status_code == 400 and "larger than" in big.content.decode()
    bad = client.post(f"/v/{send.token}/reply/video/", {"video-url": "javascript:alert(1)"})
    assert bad.status_code == 400 and "http://" in bad.content.decode()
    empty = client.post(f"/v/{send.token}/reply/video/", {})
    assert empty.status_code == 400 and "Give a link" in empty.content.decode()
    assert types(send) == []


def test_unsubscribe_asks_first_then_unsubscribes_and_the_contact_is_not_emailed_again(client, send):
    page = client.get(f"/u/{send.token}/")
    assert page.status_code == 200 and "Unsubscribe?" in page.content.decode()
    assert types(send) == []  # a link scanner's GET unsubscribes nobody
    done = client.post(f"/u/{send.token}/")
    assert done.status_code == 200 and "You are unsubscribed" in done.content.decode()
    assert types(send) == ["unsubscribed"]
    send.contact.refresh_from_db()
    assert send.contact.unsubscribed_at is not None
    again = jobs.campaign_send(campaign=make_campaign(send.campaign.portal), contacts_qs_or_ids=[send.contact_id])
    assert again.sends == [] and again.skipped_unsubscribed == 1


def test_forms_are_csrf_protected_but_one_click_unsubscribe_is_not(send):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(f"/v/{send.token}/reply/text/", {"text-text": "hi"}).status_code == 403
    assert strict.post(
        f"/v/{send.token}/events/", json.dumps({"type": "started_watching"}), content_type="application/json"
    ).status_code == 403
    # RFC 8058: the mail client POSTs List-Unsubscribe=One-Click with no page and no token.
    one_click = strict.post(f"/u/{send.token}/", "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert one_click.status_code == 200
    assert types(send) == ["unsubscribed"]


def test_page_with_csrf_token_can_post_player_events(send):
    strict = Client(enforce_csrf_checks=True)
    strict.get(f"/v/{send.token}/")
    token = strict.cookies["csrftoken"].value
    response = strict.post(
        f"/v/{send.token}/events/",
        json.dumps({"type": "started_watching"}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 204


def test_event_endpoints_are_rate_limited_per_token(client, portal_a, settings):
    settings.ENGAGEMENT_RATE_LIMIT = 3
    send, other = make_send(portal_a), make_send(portal_a)
    codes = [client.get(f"/t/{send.token}/open.gif").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    assert client.get(f"/v/{send.token}/").status_code == 429
    assert types(send) == ["opened"] * 3
    assert client.get(f"/t/{other.token}/open.gif").status_code == 200  # another token has its own budget


# --- Bounce webhook ----------------------------------------------------------------------


def _bounce(client, body, signature):
    return client.post(
        "/webhooks/email/bounce", body, content_type="application/json", HTTP_X_THANKVIEW_SIGNATURE=signature
    )


def test_signed_bounce_is_recorded_and_the_contact_is_not_emailed_again(client, send):
    secret = services.portal_email_settings_get(portal=send.campaign.portal).bounce_webhook_secret
    body = json.dumps({"token": send.token, "reason": "550 mailbox unavailable"}).encode()
    response = _bounce(client, body, services.bounce_signature(secret=secret, body=body))
    assert response.status_code == 200
    assert state(send).bounced
    assert EngagementEvent.objects.get(send=send).data == {"reason": "550 mailbox unavailable"}
    send.contact.refresh_from_db()
    assert send.contact.bounced_at is not None
    again = jobs.campaign_send(campaign=send.campaign, contacts_qs_or_ids=[send.contact_id])
    assert again.skipped_bounced == 1 and again.sends == []


def test_bounce_with_a_bad_signature_or_unknown_token_gets_the_same_401(client, send, portal_b):
    secret = services.portal_email_settings_get(portal=send.campaign.portal).bounce_webhook_secret
    other_secret = services.portal_email_settings_get(portal=portal_b).bounce_webhook_secret
    body = json.dumps({"token": send.token}).encode()
    wrong_key = _bounce(client, body, services.bounce_signature(secret=other_secret, body=body))
    tampered = _bounce(client, body + b" ", services.bounce_signature(secret=secret, body=body))
    unknown_body = json.dumps({"token": "no-such-token"}).encode()
    unknown = _bounce(client, unknown_body, services.bounce_signature(secret=secret, body=unknown_body))
    unsigned = _bounce(client, body, "")
    for response in (wrong_key, tampered, unknown, unsigned):
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid signature."}
    assert EngagementEvent.objects.count() == 0


def test_bounce_webhook_refuses_malformed_and_oversized_bodies(client, send):
    assert _bounce(client, b"{oops", "sha256=00").status_code == 400
    assert _bounce(client, b"[1, 2]", "sha256=00").status_code == 400
    assert _bounce(client, b"{" + b" " * 70_000 + b"}", "sha256=00").status_code == 413
    assert client.get("/webhooks/email/bounce").status_code == 405
    assert EngagementEvent.objects.count() == 0
