"""Portal pages for campaigns, sends and API keys (thin: read, call a service, render)."""

import secrets
from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from contacts.models import Contact
from thankview.tenancy import portal_view

from . import charts, extensions, jobs, selectors, services
from .forms import ApiKeyCreateForm, CampaignForm, CampaignSendForm
from .models import ApiKey, Campaign, Send, SendJob
from .state import send_state

CAMPAIGNS_PER_PAGE = 25
SENDS_PER_PAGE = 50
NEW_KEY_SESSION = "engagement_new_api_key"
SEND_AUDIENCE_SESSION = "engagement_send_audience"


def _campaign_or_404(request, pk):
    try:
        return selectors.campaign_get(portal=request.portal, pk=pk)
    except Campaign.DoesNotExist:
        raise Http404("No such campaign.") from None


@portal_view
def campaign_list(request):
    page = Paginator(selectors.campaign_list(portal=request.portal), CAMPAIGNS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "engagement/campaign_list.html", {"page": page, "campaigns": page.object_list})


@portal_view
def campaign_create(request):
    form = CampaignForm(request.POST or None, instance=Campaign(portal=request.portal))
    if request.method == "POST" and form.is_valid():
        campaign = services.campaign_create(portal=request.portal, created_by=request.user, **form.cleaned_data)
        messages.success(request, f"Campaign “{campaign.name}” created. Choose who to send it to.")
        return redirect("engagement:campaign_send", portal_slug=request.portal.slug, pk=campaign.pk)
    return render(request, "engagement/campaign_form.html", {"form": form}, status=400 if form.errors else 200)


@portal_view
def campaign_detail(request, pk):
    campaign = _campaign_or_404(request, pk)
    page = Paginator(selectors.send_list(campaign=campaign), SENDS_PER_PAGE).get_page(request.GET.get("page"))
    states = selectors.send_states([s.pk for s in page.object_list])
    rows = [(send, states[send.pk]) for send in page.object_list]
    totals = selectors.campaign_totals(campaign=campaign)
    job = selectors.send_job_latest(campaign=campaign)
    # Only a recent job can still be delivering; older ones skip the progress count.
    recent = job and (job.finished_at is None or job.finished_at > timezone.now() - timedelta(days=1))
    sending = job if recent and not selectors.send_job_progress(job=job)["finished"] else None
    return render(
        request,
        "engagement/campaign_detail.html",
        {
            "campaign": campaign,
            "page": page,
            "rows": rows,
            "totals": totals,
            "funnel": charts.funnel_chart(selectors.campaign_funnel(campaign=campaign, totals=totals)),
            "sending": sending,
        },
    )


@portal_view
def campaign_send(request, pk):
    """Pick recipients (all, a search, or a CSV of emails), then confirm the counts; nothing
    is sent before the confirmation. The chosen audience waits in the session, under a
    nonce the confirmation form carries, so a confirmation sends exactly what it showed."""
    campaign = _campaign_or_404(request, pk)
    if request.method == "POST" and "confirm" in request.POST:
        return _campaign_send_confirmed(request, campaign)
    form = CampaignSendForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        audience = form.audience()
        nonce = secrets.token_urlsafe(16)
        request.session[_send_session_key(campaign)] = {"nonce": nonce, "audience": audience}
        counts = selectors.audience_counts(portal_id=request.portal.pk, audience=audience)
        return render(
            request,
            "engagement/campaign_send_confirm.html",
            {"campaign": campaign, "counts": counts, "nonce": nonce, "audience": audience},
        )
    audience = Contact.objects.filter(portal=request.portal)
    return render(
        request,
        "engagement/campaign_send.html",
        {
            "campaign": campaign,
            "form": form,
            "contact_count": audience.count(),
            "blocked_count": audience.exclude(unsubscribed_at=None, bounced_at=None).count(),
        },
        status=400 if form.errors else 200,
    )


def _send_session_key(campaign):
    return f"{SEND_AUDIENCE_SESSION}:{campaign.pk}"


def _campaign_send_confirmed(request, campaign):
    pending = request.session.get(_send_session_key(campaign))
    if not pending or not secrets.compare_digest(pending["nonce"], request.POST.get("confirm", "")):
        messages.error(request, "That confirmation is no longer valid (it was sent or replaced). Choose the recipients again.")
        return redirect("engagement:campaign_send", portal_slug=request.portal.slug, pk=campaign.pk)
    del request.session[_send_session_key(campaign)]
    job = jobs.send_job_start(campaign=campaign, audience=pending["audience"], created_by=request.user)
    return redirect("engagement:send_job_detail", portal_slug=request.portal.slug, campaign_pk=campaign.pk, pk=job.pk)


def _send_job_or_404(request, campaign_pk, pk):
    try:
        return selectors.send_job_get(portal=request.portal, campaign_pk=campaign_pk, pk=pk)
    except SendJob.DoesNotExist:
        raise Http404("No such send.") from None


@portal_view
def send_job_detail(request, campaign_pk, pk):
    """A send's progress as of now; static/js/progress.js keeps it current."""
    job = _send_job_or_404(request, campaign_pk, pk)
    progress = selectors.send_job_progress(job=job)
    return render(request, "engagement/send_job.html", {"job": job, "campaign": job.campaign, "p": progress})


@portal_view
def send_job_status(request, campaign_pk, pk):
    """A send's progress as JSON, for the page's poller (never cached)."""
    job = _send_job_or_404(request, campaign_pk, pk)
    p = selectors.send_job_progress(job=job)
    counted = job.total is not None
    response = JsonResponse(
        {
            "id": job.pk,
            "status": job.status,
            "finished": p["finished"],
            "label": p["label"],
            "bars": {
                "sends": {"value": job.sends, "max": job.eligible} if counted else None,
                "delivered": {"value": p["emailed"], "max": p["deliverable"]} if counted else None,
            },
            "fields": {
                "total": job.total,
                "eligible": job.eligible if counted else None,
                "sends": job.sends,
                "skipped_unsubscribed": job.skipped_unsubscribed,
                "skipped_bounced": job.skipped_bounced,
                "not_found": job.not_found,
                "emailed": p["emailed"],
                "failed": p["failed"],
                "withheld": p["withheld"],
                "deliverable": p["deliverable"],
                "pending": p["pending"],
            },
        }
    )
    add_never_cache_headers(response)
    return response


@portal_view
def send_detail(request, campaign_pk, pk):
    try:
        send = selectors.send_get(portal=request.portal, pk=pk, campaign_pk=campaign_pk)
    except Send.DoesNotExist:
        raise Http404("No such send.") from None
    events = list(selectors.send_events(send=send))
    return render(
        request,
        "engagement/send_detail.html",
        {
            "send": send,
            "campaign": send.campaign,
            "events": events,
            "state": send_state(events),
            "status_panels": extensions.send_status_panels(send),
        },
    )


# --- API keys (portal admins only) -------------------------------------------------------


@portal_view(admin_only=True)
def apikey_list(request):
    form = ApiKeyCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            key, raw = services.apikey_create(
                portal=request.portal, name=form.cleaned_data["name"], created_by=request.user
            )
        except ValidationError as e:
            form.add_error("name", e.message_dict.get("name", e.messages))
        else:
            # Shown once, on the next page view, then gone: only its hash is stored.
            request.session[NEW_KEY_SESSION] = {"id": key.pk, "raw": raw}
            messages.success(request, f"API key “{key.name}” created. Copy it now: it will not be shown again.")
            return redirect("engagement:apikey_list", portal_slug=request.portal.slug)
    new_key = request.session.pop(NEW_KEY_SESSION, None)
    response = render(
        request,
        "engagement/apikey_list.html",
        {
            "form": form,
            "keys": selectors.apikey_list(portal=request.portal),
            "new_key": new_key,
            "email_settings": services.portal_email_settings_get(portal=request.portal),
        },
        status=400 if form.errors else 200,
    )
    add_never_cache_headers(response)  # shows the new key once and the webhook secret
    return response


@portal_view(admin_only=True)
def apikey_revoke(request, pk):
    key = ApiKey.objects.filter(portal=request.portal, pk=pk).first()
    if key is None:
        raise Http404("No such API key.")
    if request.method == "POST":
        services.apikey_revoke(apikey=key)
        messages.success(request, f"API key “{key.name}” revoked. Requests using it are refused from now on.")
        return redirect("engagement:apikey_list", portal_slug=request.portal.slug)
    return render(request, "engagement/apikey_revoke.html", {"key": key})


@portal_view(admin_only=True)
@require_POST
def bounce_secret_rotate(request):
    services.bounce_secret_rotate(portal=request.portal)
    messages.success(request, "New bounce webhook secret created. Update your mail provider; the old one no longer works.")
    return redirect("engagement:apikey_list", portal_slug=request.portal.slug)
