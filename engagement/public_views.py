"""Recipient-facing endpoints: public, no login, identified only by the send token.

Rules shared by every endpoint here:
- an unknown or guessed token gets the same plain 404 as any missing page (``_not_found``);
- every endpoint that records an event is rate-limited per token (429 beyond the budget),
  checked before the token is looked up so that the answer is the same for any token;
- forms are CSRF-protected, except the one-click unsubscribe POST, which mail clients
  send without a page (RFC 8058), and the bounce webhook, which is HMAC-signed instead.
"""

import functools
import json
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import HttpResponse, HttpResponseNotFound, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie
from django.views.decorators.http import require_http_methods, require_POST

from thankview.branding import branding_version

from . import jsonbody, ratelimit, services
from .forms import TextReplyForm, VideoReplyForm
from .models import EventType
from .selectors import campaign_by_share_key, campaign_share_key, send_by_token

# The smallest valid GIF: 1×1, one transparent pixel.
PIXEL_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
# Event types the landing page's player and share button may report through /events/.
PAGE_EVENT_TYPES = {EventType.STARTED_WATCHING, EventType.FINISHED_WATCHING, EventType.SHARED}
BOUNCE_MAX_BYTES = 64 * 1024
PAGE_EVENT_MAX_BYTES = 4 * 1024


def _not_found():
    return HttpResponseNotFound("Not found.\n", content_type="text/plain; charset=utf-8")


def _too_many():
    response = HttpResponse("Too many requests.\n", status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(settings.ENGAGEMENT_RATE_WINDOW)
    return response


def _no_store(response):
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, max-age=0, private"
    response["Pragma"] = "no-cache"
    response["Expires"] = "0"
    return response


def _recipient_view(view):
    """A landing-page endpoint that records an event: rate-limited per token (before the
    lookup, so the answer is the same for any token), then the token resolved to its send
    (an unknown one is a plain 404). The view is called with the send."""

    @functools.wraps(view)
    def wrapped(request, token):
        if not ratelimit.allow("event", token):
            return _too_many()
        send = send_by_token(token)
        if send is None:
            return _not_found()
        return view(request, send)

    return wrapped


def _landing_redirect(send, done):
    return HttpResponseRedirect(reverse("engagement_public:landing", args=[send.token]) + f"?done={done}")


@require_http_methods(["GET", "HEAD"])
def open_pixel(request, token):
    """The email's tracking pixel → ``opened`` (one query; see event_record_by_token)."""
    if not ratelimit.allow("event", token):
        return _too_many()
    if request.method == "HEAD":
        found = send_by_token(token) is not None
    else:
        found = services.event_record_by_token(token=token, type=EventType.OPENED)
    if not found:
        return _not_found()
    return _no_store(HttpResponse(PIXEL_GIF, content_type="image/gif"))


@require_http_methods(["GET", "HEAD"])
@ensure_csrf_cookie
@_recipient_view
def landing(request, send):
    """The personal landing page → ``clicked`` (not on our own post-form redirects)."""
    if request.method == "GET" and "done" not in request.GET:
        services.event_record(send=send, type=EventType.CLICKED)
    return _render_landing(request, send)


def _share_context(campaign):
    """The campaign's share link (never the video file's URL) and a ready-made email."""
    url = settings.SITE_URL + reverse("engagement_public:shared", args=[campaign_share_key(campaign)])
    mail = urlencode(
        {"subject": f"{campaign.name} · {campaign.portal.name}", "body": f"A video from {campaign.portal.name}: {url}"},
        quote_via=quote,
    )
    return {"share_url": url, "share_mailto": f"mailto:?{mail}"}


def _render_landing(request, send, *, text_form=None, video_form=None, status=200):
    context = {
        **_share_context(send.campaign),
        "brand_version": branding_version(send.campaign.portal),
        "send": send,
        "campaign": send.campaign,
        "portal": send.campaign.portal,
        "contact": send.contact,
        "text_form": text_form or TextReplyForm(),
        "video_form": video_form or VideoReplyForm(),
        "done": request.GET.get("done", ""),
        "max_video_mb": VideoReplyForm.max_bytes() // (1024 * 1024),
    }
    return _no_store(render(request, "engagement/landing.html", context, status=status))


@require_http_methods(["GET", "HEAD"])
def campaign_shared(request, key):
    """The page a recipient's share link opens: the campaign's video and button, branded,
    with nothing of the recipient's (no replies, no unsubscribe, no events recorded)."""
    campaign = campaign_by_share_key(key)
    if campaign is None:
        return _not_found()
    portal = campaign.portal
    context = {"campaign": campaign, "portal": portal, "brand_version": branding_version(portal)}
    return render(request, "engagement/shared.html", context)


@require_http_methods(["GET"])
@_recipient_view
def cta(request, send):
    """The call-to-action button → ``cta_clicked``, then only the campaign's own CTA URL."""
    if not send.campaign.cta_url:
        return _not_found()
    services.event_record(send=send, type=EventType.CTA_CLICKED)
    return HttpResponseRedirect(send.campaign.cta_url)


@require_http_methods(["GET"])
@_recipient_view
def download(request, send):
    """The Download link → ``downloaded``, then the campaign's video file."""
    services.event_record(send=send, type=EventType.DOWNLOADED)
    return HttpResponseRedirect(send.campaign.video_url)


@require_POST
@_recipient_view
def share(request, send):
    """The Share button (no-JS path) → ``shared``; the page then shows the link to share."""
    services.event_record(send=send, type=EventType.SHARED, data={"channel": "link"})
    return _landing_redirect(send, "shared")


@require_POST
@_recipient_view
def page_events(request, send):
    """Events reported by the landing page's script: ``{"type": "started_watching"}``."""
    try:
        payload = jsonbody.parse(request.body, max_bytes=PAGE_EVENT_MAX_BYTES)
    except jsonbody.BadJsonBody as e:
        return HttpResponse(e.message + "\n", status=e.status, content_type="text/plain; charset=utf-8")
    type_ = payload.get("type") if isinstance(payload, dict) else None
    if type_ not in PAGE_EVENT_TYPES:
        return HttpResponse(
            "type must be started_watching, finished_watching or shared.\n", status=400, content_type="text/plain"
        )
    data = {}
    if type_ == EventType.SHARED and isinstance(payload.get("channel"), str):
        data["channel"] = services.storable(payload["channel"])[:40]
    services.event_record(send=send, type=type_, data=data)
    return HttpResponse(status=204)


@require_POST
@_recipient_view
def text_reply(request, send):
    form = TextReplyForm(request.POST)
    if not form.is_valid():
        return _render_landing(request, send, text_form=form, status=400)
    services.event_record(send=send, type=EventType.TEXT_REPLY, data={"text": form.cleaned_data["text"]})
    return _landing_redirect(send, "text")


@require_POST
@_recipient_view
def video_reply(request, send):
    """A video reply: a link, or an uploaded file stored with Django's storage API."""
    form = VideoReplyForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_landing(request, send, video_form=form, status=400)
    upload = form.cleaned_data.get("file")
    if upload:
        name = default_storage.save(
            f"video-replies/{send.campaign.portal_id}/{send.pk}/{form.stored_name()}", upload
        )
        url = default_storage.url(name)
        if url.startswith("/"):
            url = settings.SITE_URL + url
        data = {"url": url, "file": name}
    else:
        data = {"url": form.cleaned_data["url"]}
    services.event_record(send=send, type=EventType.VIDEO_REPLY, data=data)
    return _landing_redirect(send, "video")


@csrf_exempt  # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" with no page or token.
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """GET asks for confirmation (link scanners must not unsubscribe people); POST does it."""
    if request.method == "POST" and not ratelimit.allow("event", token):
        return _too_many()
    send = send_by_token(token)
    if send is None:
        return _not_found()
    portal = send.campaign.portal
    context = {"send": send, "portal": portal, "brand_version": branding_version(portal)}
    if request.method == "GET":
        return _no_store(render(request, "engagement/unsubscribe.html", context))
    services.send_unsubscribe(send=send)
    return _no_store(render(request, "engagement/unsubscribe.html", {**context, "done": True}))


@csrf_exempt  # Authenticated by an HMAC signature over the raw body instead.
@require_POST
def bounce_webhook(request):
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > BOUNCE_MAX_BYTES:
        return _json(413, {"detail": f"The body is larger than {BOUNCE_MAX_BYTES:,} bytes."})
    try:
        services.bounce_webhook_receive(
            body=request.body, signature=request.headers.get("X-ThankView-Signature", ""), max_bytes=BOUNCE_MAX_BYTES
        )
    except services.WebhookRejected as e:
        return _json(e.status, {"detail": e.message})
    return _json(200, {"status": "recorded"})


def _json(status, payload):
    return HttpResponse(json.dumps(payload), status=status, content_type="application/json")
