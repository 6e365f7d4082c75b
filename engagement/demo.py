"""Demo engagement for `make run`: a campaign sent three days ago to the demo contacts, with
realistic engagement across every event type; some of it received in the last 30 minutes so
the sync's buffer has something to hold back. Runs after contacts' demo; safe to re-run."""

import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.templatetags.static import static
from django.utils import timezone

from contacts.models import Contact

from . import services
from .models import Campaign, EngagementEvent, EventType, Send

CAMPAIGN_NAME = "Thank you for your 2025 gift"
REPLIES = [
    "Thank you so much, this made my day!",
    "What a lovely surprise. Proud to support the scholarship fund.",
    "Happy to give again next year. Say hi to the students for me!",
    "Wonderful video. Could someone call me about a planned gift? " + "I have a few questions about the options. " * 8,
]


@transaction.atomic
def seed(*, portal, user):
    if Campaign.objects.filter(portal=portal, name=CAMPAIGN_NAME).exists():
        return "campaign already present"
    rng = random.Random(2025)
    now = timezone.now()
    sent_at = (now - timedelta(days=3)).replace(microsecond=0)
    campaign = services.campaign_create(
        portal=portal,
        name=CAMPAIGN_NAME,
        video_url=settings.SITE_URL + static("video/thankyou.webm"),
        cta_label="Give again",
        cta_url="https://example.org/give",
        created_by=user,
    )
    contacts = list(Contact.objects.filter(portal=portal).order_by("id")[:40])
    # Demo sends are marked emailed: the demo shows engagement, it does not mail anyone.
    Send.objects.bulk_create(
        [Send(campaign=campaign, contact=c, sent_at=sent_at, emailed_at=sent_at) for c in contacts]
    )
    sends = list(Send.objects.filter(campaign=campaign).select_related("contact").order_by("id"))

    events, marks = [], {"bounced_at": set(), "unsubscribed_at": set()}

    def add(send, type_, at, data=None, recent=False):
        received = now - timedelta(minutes=rng.randint(1, 25)) if recent else at + timedelta(seconds=rng.randint(1, 90))
        events.append(EngagementEvent(send=send, type=type_, occurred_at=at, received_at=received, data=data or {}))

    for i, send in enumerate(sends):
        t = sent_at + timedelta(minutes=rng.randint(5, 600))
        recent = i % 7 == 3  # a few recipients engage right now: held back by the sync buffer
        if recent:
            t = now - timedelta(minutes=rng.randint(2, 25))
        if i % 13 == 5:
            add(send, EventType.BOUNCED, sent_at + timedelta(minutes=1), {"reason": "550 5.1.1 mailbox unavailable"})
            marks["bounced_at"].add(send.contact_id)
            continue
        if i % 17 == 9:  # opened the email, then unsubscribed from it
            add(send, EventType.OPENED, t, recent=recent)
            add(send, EventType.UNSUBSCRIBED, t + timedelta(minutes=1), recent=recent)
            marks["unsubscribed_at"].add(send.contact_id)
            continue
        roll = rng.random()
        if i % 5 == 0 or i % 11 == 2:
            roll = max(roll, 0.5)  # the repliers watched first
        if roll < 0.2:
            continue  # never opened
        if rng.random() < 0.85:  # some mail clients block the pixel; later steps still prove the open
            add(send, EventType.OPENED, t, recent=recent)
        if roll < 0.35:
            continue
        t += timedelta(minutes=rng.randint(1, 30))
        add(send, EventType.CLICKED, t, recent=recent)
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            t += timedelta(seconds=rng.randint(5, 60))
            add(send, EventType.STARTED_WATCHING, t, recent=recent)
            if rng.random() < 0.7:
                add(send, EventType.FINISHED_WATCHING, t + timedelta(seconds=45), recent=recent)
        if rng.random() < 0.4:
            add(send, EventType.CTA_CLICKED, t + timedelta(minutes=1), recent=recent)
        if rng.random() < 0.2:
            add(send, EventType.DOWNLOADED, t + timedelta(minutes=2), recent=recent)
        if rng.random() < 0.2:
            add(send, EventType.SHARED, t + timedelta(minutes=3), {"channel": "link"}, recent=recent)
        if i % 5 == 0:
            add(send, EventType.TEXT_REPLY, t + timedelta(minutes=4), {"text": REPLIES[(i // 5) % len(REPLIES)]}, recent=recent)
        if i % 11 == 2:
            add(send, EventType.VIDEO_REPLY, t + timedelta(minutes=6), {"url": "https://videos.example.org/replies/thanks.mp4"}, recent=recent)
    # Seed data goes in directly (with chosen received_at times); live events use services.
    EngagementEvent.objects.bulk_create(events)
    for field_name, contact_ids in marks.items():
        services.contact_mark(contact_ids=contact_ids, field_name=field_name, at=now - timedelta(days=2))
    return f"campaign “{campaign.name}” with {len(sends)} sends and {len(events)} events"
