"""Reads for engagement. Portal-scoped selectors take ``portal`` and never cross it."""

import re
from dataclasses import dataclass

from django.core import signing
from django.db.models import Count, Q

from contacts.models import Contact
from contacts.selectors import contact_list

from .models import ApiKey, Campaign, EngagementEvent, EventType, Send, SendJob
from .state import IMPLIES_OPENED, send_state

# What secrets.token_urlsafe produces; anything else cannot be a token (and never reaches SQL).
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_STATE_FIELDS = ("send_id", "type", "occurred_at", "received_at", "data")


def campaign_list(*, portal):
    return Campaign.objects.filter(portal=portal).annotate(send_count=Count("sends")).order_by("-created_at", "-id")


def campaign_get(*, portal, pk):
    """The portal's campaign or ``Campaign.DoesNotExist`` (another portal's id included)."""
    return Campaign.objects.select_related("portal").get(portal=portal, pk=pk)


# A campaign's share link carries its id signed, so links can't be guessed or enumerated,
# and shares no recipient's token (which would let anyone reply or unsubscribe as them).
_SHARE_SIGNER = signing.Signer(salt="engagement.campaign-share")


def campaign_share_key(campaign):
    return _SHARE_SIGNER.sign(str(campaign.pk))


def campaign_by_share_key(key):
    """The campaign a share link names, or None for a forged or unknown key."""
    try:
        pk = int(_SHARE_SIGNER.unsign(key))
    except (signing.BadSignature, ValueError):
        return None
    return Campaign.objects.select_related("portal").filter(pk=pk).first()


def send_list(*, campaign):
    return Send.objects.filter(campaign=campaign).select_related("contact").order_by("contact__email", "id")


def send_get(*, portal, pk, campaign_pk=None):
    qs = Send.objects.select_related("campaign", "campaign__portal", "contact").filter(campaign__portal=portal)
    if campaign_pk is not None:
        qs = qs.filter(campaign_id=campaign_pk)
    return qs.get(pk=pk)


def send_by_token(token):
    """The send with this token, or None. The token is the recipient's only credential."""
    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        return None
    return Send.objects.select_related("campaign", "campaign__portal", "contact").filter(token=token).first()


def events_for_sends(send_ids, *, cutoff=None):
    """``{send_id: [event, ...]}`` for every id given (empty lists included), in one query.

    With ``cutoff``, only events received at or before it (the sync's settled view).
    """
    send_ids = list(send_ids)
    result = {send_id: [] for send_id in send_ids}
    if not send_ids:
        return result
    qs = EngagementEvent.objects.filter(send_id__in=send_ids).only(*_STATE_FIELDS).order_by("occurred_at", "id")
    if cutoff is not None:
        qs = qs.filter(received_at__lte=cutoff)
    for event in qs:
        result[event.send_id].append(event)
    return result


def send_states(send_ids, *, cutoff=None):
    """``{send_id: SendState}`` for every id given, from one query."""
    return {
        send_id: send_state(events, cutoff=cutoff)
        for send_id, events in events_for_sends(send_ids, cutoff=cutoff).items()
    }


def send_events(*, send):
    return EngagementEvent.objects.filter(send=send).order_by("occurred_at", "id")


def campaign_totals(*, campaign):
    """Per-campaign totals: how many sends reached each step, and total views.

    Computed in SQL so that a large campaign's page stays fast; follows the state rules
    (an open is implied by any later step; finished implies started).
    """
    events = EngagementEvent.objects.filter(send__campaign=campaign)

    def sends_with(*types):
        return Count("send_id", filter=Q(type__in=types), distinct=True)

    totals = events.aggregate(
        opened=sends_with(EventType.OPENED, *sorted(IMPLIES_OPENED)),
        clicked=sends_with(EventType.CLICKED),
        started_watching=sends_with(EventType.STARTED_WATCHING, EventType.FINISHED_WATCHING),
        finished_watching=sends_with(EventType.FINISHED_WATCHING),
        cta_clicked=sends_with(EventType.CTA_CLICKED),
        downloaded=sends_with(EventType.DOWNLOADED),
        shared=sends_with(EventType.SHARED),
        bounced=sends_with(EventType.BOUNCED),
        unsubscribed=sends_with(EventType.UNSUBSCRIBED),
        replied=sends_with(EventType.TEXT_REPLY, EventType.VIDEO_REPLY),
        views=Count("id", filter=Q(type=EventType.STARTED_WATCHING)),
    )
    totals["sends"] = campaign.sends.count()
    return totals


# The campaign page's funnel: (key in campaign_totals, label). Each step counts the sends
# whose state (engagement.state.send_state) has that flag, so "opened" includes sends
# whose open was only implied by a later step, and "watched" those that only finished.
FUNNEL_STEPS = (
    ("sends", "Sent"),
    ("opened", "Opened"),
    ("clicked", "Clicked"),
    ("started_watching", "Watched"),
    ("finished_watching", "Finished"),
    ("cta_clicked", "CTA"),
)


@dataclass(frozen=True)
class FunnelStep:
    key: str
    label: str
    count: int
    percent: float  # of the sends (0 when there are none)


def campaign_funnel(*, campaign, totals=None):
    """The funnel sent → opened → clicked → watched → finished → CTA, from ``campaign_totals``
    (two queries whatever the campaign's size; pass ``totals`` to reuse them)."""
    totals = totals if totals is not None else campaign_totals(campaign=campaign)
    sent = totals["sends"]
    return [
        FunnelStep(key, label, totals[key], round(100 * totals[key] / sent, 1) if sent else 0.0)
        for key, label in FUNNEL_STEPS
    ]


def apikey_list(*, portal):
    return ApiKey.objects.filter(portal=portal).select_related("created_by")


def audience_contacts(*, portal_id, audience):
    """The contacts a send's audience chose, always scoped to the portal.

    ``audience`` is ``{"kind": "all"}``, ``{"kind": "search", "q": "..."}`` or
    ``{"kind": "emails", "emails": [normalised, ...]}``.
    """
    audience = audience or {}
    if audience.get("kind") == "search":
        return contact_list(portal=portal_id, q=audience.get("q", "")).order_by()
    if audience.get("kind") == "emails":
        emails = list(audience.get("emails") or [])
        return Contact.objects.filter(portal=portal_id, email_normalized__in=emails)
    return Contact.objects.filter(portal=portal_id)


def audience_counts(*, portal_id, audience):
    """How a send to ``audience`` splits, in one query: ``total`` contacts chosen, skipped
    ``unsubscribed`` and ``bounced`` (unsubscribed wins when both, as in ``sends_create``),
    ``recipients`` (the rest: one Send each) and ``not_found`` (emails in the file that
    are no contact of the portal)."""
    counts = audience_contacts(portal_id=portal_id, audience=audience).aggregate(
        total=Count("id"),
        unsubscribed=Count("id", filter=Q(unsubscribed_at__isnull=False)),
        bounced=Count("id", filter=Q(unsubscribed_at__isnull=True, bounced_at__isnull=False)),
    )
    counts["recipients"] = counts["total"] - counts["unsubscribed"] - counts["bounced"]
    counts["not_found"] = 0
    if (audience or {}).get("kind") == "emails":
        counts["not_found"] = max(len(audience.get("emails") or []) - counts["total"], 0)
    return counts


def send_job_get(*, portal, campaign_pk, pk):
    """The portal's send job, or ``SendJob.DoesNotExist`` (another portal's id included)."""
    return SendJob.objects.select_related("campaign", "campaign__portal").get(
        campaign__portal=portal, campaign_id=campaign_pk, pk=pk
    )


def send_job_latest(*, campaign):
    return SendJob.objects.filter(campaign=campaign).order_by("-created_at", "-id").first()


def send_job_progress(*, job):
    """How far a send job got, read from its Sends in ONE query (index campaign, sent_at).

    ``emailed``: handed to the mail backend (``emailed_at`` set by the delivery task);
    ``failed``: delivery gave up on the email (``email_failed_at``, see ``sends_deliver``);
    ``withheld``: not emailed because the contact unsubscribed or bounced after the Send
    was created (delivery skips them); ``pending``: the rest, still queued for delivery.
    """
    blocked = Q(contact__unsubscribed_at__isnull=False) | Q(contact__bounced_at__isnull=False)
    failed = Q(email_failed_at__isnull=False)
    counts = Send.objects.filter(campaign_id=job.campaign_id, sent_at=job.sent_at).aggregate(
        sends=Count("id"),
        emailed=Count("id", filter=Q(emailed_at__isnull=False)),
        failed=Count("id", filter=failed),
        withheld=Count("id", filter=Q(emailed_at__isnull=True) & ~failed & blocked),
    )
    counts["deliverable"] = counts["sends"] - counts["withheld"]
    counts["pending"] = counts["deliverable"] - counts["emailed"] - counts["failed"]
    counts["finished"] = job.status == SendJob.Status.FAILED or (
        job.status == SendJob.Status.CREATED and counts["pending"] == 0
    )
    counts["label"] = _send_job_label(job, counts)
    return counts


def _send_job_label(job, p):
    S = SendJob.Status
    if job.status == S.QUEUED:
        return "Waiting for a worker to start sending…"
    if job.status == S.FAILED:
        return f"Stopped: {job.error} {p['emailed']:,} of {p['sends']:,} emails delivered so far."
    if job.status == S.CREATING:
        if job.total is None:
            return "Counting the chosen contacts…"
        return f"Creating sends: {job.sends:,} of {job.eligible:,}. Emails delivered so far: {p['emailed']:,}."
    if p["sends"] == 0:
        return "No contacts to send to: nothing was sent."
    failed = f" {p['failed']:,} could not be delivered." if p["failed"] else ""
    if p["pending"]:
        return (
            f"All {p['sends']:,} sends created. Delivering emails: {p['emailed']:,} of {p['deliverable']:,}…{failed}"
        )
    label = f"Done: {p['emailed']:,} of {p['deliverable']:,} emails delivered.{failed}"
    if p["withheld"]:
        label += f" {p['withheld']:,} not emailed (unsubscribed or bounced before delivery)."
    return label
