"""Engagement: campaigns, the sends of a campaign to contacts, and what recipients did.

``EngagementEvent`` rows are facts and are never edited: the state that goes to Salesforce
is computed from them (``engagement.state.send_state``), so a late or duplicated event can
never corrupt a stored summary.
"""

import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

from thankview.models import Portal


def new_send_token():
    # 24 random bytes = 192 bits, URL-safe: the token is the only credential of a recipient.
    return secrets.token_urlsafe(24)


def new_webhook_secret():
    return secrets.token_urlsafe(32)


class Campaign(models.Model):
    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200)  # Salesforce Event_Name__c
    video_url = models.URLField(max_length=500)  # Salesforce Video_Url__c
    cta_label = models.CharField("CTA label", max_length=80, blank=True)
    cta_url = models.URLField("CTA URL", max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["portal", "-created_at"], name="campaign_portal_created")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("engagement:campaign_detail", args=[self.portal.slug, self.pk])


class Send(models.Model):
    """One email of a campaign to one contact. Salesforce gets one ThankView__c per Send."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="sends")
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="sends")
    sent_at = models.DateTimeField(default=timezone.now)  # Salesforce Sent_Date__c
    token = models.CharField(max_length=64, unique=True, default=new_send_token, editable=False)
    # Set when the delivery task hands the email to the backend; a redelivered task skips it.
    emailed_at = models.DateTimeField(null=True, blank=True)
    # Set when delivery gave up on the email (an error retrying cannot help, or the task's
    # last retry failed too), with the backend's reason: it is never retried, and the send
    # job's progress counts it as failed instead of waiting for it.
    email_failed_at = models.DateTimeField(null=True, blank=True)
    # db_default: rows written without it (the benchmarks' COPY) still get "".
    email_error = models.CharField(max_length=255, blank=True, default="", db_default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "contact", "sent_at"], name="send_unique_campaign_contact_sent_at")
        ]
        indexes = [
            models.Index(fields=["sent_at"], name="send_sent_at"),
            # The Sends of one press of "Send" (a SendJob): its progress counts them.
            models.Index(fields=["campaign", "sent_at"], name="send_campaign_sent_at"),
        ]

    def __str__(self):
        return f"{self.campaign} → {self.contact_id} at {self.sent_at:%Y-%m-%d %H:%M}"

    @property
    def landing_url(self):
        """The recipient's personal landing page, absolute (Salesforce ``Url__c``)."""
        return settings.SITE_URL + reverse("engagement_public:landing", args=[self.token])

    @property
    def pixel_url(self):
        return settings.SITE_URL + reverse("engagement_public:open_pixel", args=[self.token])

    @property
    def unsubscribe_url(self):
        return settings.SITE_URL + reverse("engagement_public:unsubscribe", args=[self.token])

    def get_absolute_url(self):
        return reverse("engagement:send_detail", args=[self.campaign.portal.slug, self.campaign_id, self.pk])


class SendJob(models.Model):
    """One press of "Send campaign": who was chosen, and how far creating the Sends got.

    The page's Send button stores this row and a Celery task creates the Sends (in chunks,
    each committed on its own, each chunk's emails queued as it commits), so the request
    never waits on 100,000 inserts. Every Send of the job shares its ``sent_at``; how many
    emails went out is read from those Sends (``emailed_at``), the delivery tasks' own record,
    never from a second counter that could drift.

    ``audience`` says whom to send to, as the form chose it: ``{"kind": "all"}``,
    ``{"kind": "search", "q": ...}`` or ``{"kind": "emails", "emails": [...]}`` (normalised).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to start"
        CREATING = "creating", "Creating sends"
        CREATED = "created", "Sends created"
        FAILED = "failed", "Failed"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="send_jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(default=timezone.now)
    audience = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(null=True, blank=True)  # contacts chosen; known once counted
    skipped_unsubscribed = models.PositiveIntegerField(default=0)
    skipped_bounced = models.PositiveIntegerField(default=0)
    not_found = models.PositiveIntegerField(default=0)  # emails of the file that are no contact
    sends = models.PositiveIntegerField(default=0)  # Sends created (or reused) and committed so far
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["campaign", "-created_at"], name="sendjob_campaign_created")]

    def __str__(self):
        return f"Send of {self.campaign} at {self.sent_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"

    @property
    def skipped(self):
        return self.skipped_unsubscribed + self.skipped_bounced

    @property
    def eligible(self):
        """Contacts that get a Send: those chosen minus the skipped ones."""
        return max((self.total or 0) - self.skipped, 0)


class EventType(models.TextChoices):
    OPENED = "opened", "Opened"
    CLICKED = "clicked", "Clicked"
    STARTED_WATCHING = "started_watching", "Started watching"
    FINISHED_WATCHING = "finished_watching", "Finished watching"
    CTA_CLICKED = "cta_clicked", "CTA clicked"
    DOWNLOADED = "downloaded", "Downloaded"
    SHARED = "shared", "Shared"
    BOUNCED = "bounced", "Bounced"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    TEXT_REPLY = "text_reply", "Text reply"
    VIDEO_REPLY = "video_reply", "Video reply"


class EngagementEvent(models.Model):
    """Something a recipient (or their mail system) did. Append-only.

    ``occurred_at`` is when it happened (client-reported for the API); ``received_at`` is
    when this server stored it and is what the sync's cut-off compares against, so an event
    reported late with an old ``occurred_at`` is still picked up by the next run.
    """

    Type = EventType

    send = models.ForeignKey(Send, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=20, choices=EventType.choices)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    # text for text_reply, url for video_reply, reason for bounced, channel for shared...
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["send", "received_at"], name="event_send_received")]

    def __str__(self):
        return f"{self.get_type_display()} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError("Engagement events are append-only; they cannot be changed.")
        super().save(*args, **kwargs)


class ApiKey(models.Model):
    """A portal's REST API key. Only the SHA-256 of the key is stored; the key is shown once.

    Keys look like ``tvk_<prefix>_<secret>``; the prefix finds the row, the hash proves it.
    """

    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    hashed_key = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self):
        return self.revoked_at is None

    @staticmethod
    def hash(raw_key):
        return hashlib.sha256(raw_key.encode()).hexdigest()


class PortalEmailSettings(models.Model):
    """Per-portal email settings; today the secret that signs bounce webhooks."""

    portal = models.OneToOneField(Portal, on_delete=models.CASCADE, related_name="email_settings")
    bounce_webhook_secret = models.CharField(max_length=100, default=new_webhook_secret)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "portal email settings"
        verbose_name_plural = "portal email settings"

    def __str__(self):
        return f"Email settings of {self.portal}"
