"""Field mappings: which ``ThankView__c`` field gets which value."""

from django.db import models

from thankview.models import Portal


class FieldMapping(models.Model):
    """One ``ThankView__c`` field and where its value comes from.

    Lookups (``Contact__c`` / ``Lead__c``) are not mappings: the sync sets them from the
    match. Defaults are in ``integrations.salesforce.mapping.DEFAULT_MAPPINGS``.
    """

    class Source(models.TextChoices):
        CAMPAIGN_NAME = "campaign.name", "Campaign name"
        CAMPAIGN_VIDEO_URL = "campaign.video_url", "Campaign video URL"
        CAMPAIGN_CTA_LABEL = "campaign.cta_label", "Campaign CTA label"
        CAMPAIGN_CTA_URL = "campaign.cta_url", "Campaign CTA URL"
        SEND_SENT_AT = "send.sent_at", "Send date"
        SEND_LANDING_URL = "send.landing_url", "Send landing-page URL"
        SEND_TOKEN = "send.token", "Send token"
        STATE_OPENED = "state.opened", "Opened"
        STATE_CLICKED = "state.clicked", "Clicked"
        STATE_STARTED_WATCHING = "state.started_watching", "Started watching"
        STATE_FINISHED_WATCHING = "state.finished_watching", "Finished watching"
        STATE_CTA_CLICKED = "state.cta_clicked", "CTA clicked"
        STATE_DOWNLOADED = "state.downloaded", "Downloaded"
        STATE_SHARED = "state.shared", "Shared"
        STATE_BOUNCED = "state.bounced", "Bounced"
        STATE_UNSUBSCRIBED = "state.unsubscribed", "Unsubscribed"
        STATE_VIEWS = "state.views", "Views"
        STATE_TEXT_REPLY_255 = "state.text_reply_255", "Text reply (first 255 characters)"
        STATE_VIDEO_REPLY = "state.video_reply", "Video reply URL"
        STATE_LAST_ACTIVITY_AT = "state.last_activity_at", "Last activity"
        CONTACT_DONOR_ID = "contact.donor_id", "Contact Donor ID"
        CONTACT_EMAIL = "contact.email", "Contact email"
        CONTACT_FIRST_NAME = "contact.first_name", "Contact first name"
        CONTACT_LAST_NAME = "contact.last_name", "Contact last name"
        CONSTANT = "constant", "A constant value"

    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="salesforce_mappings")
    target_field = models.CharField("Salesforce field (API name)", max_length=80)
    source = models.CharField(max_length=40, choices=Source.choices)
    constant_value = models.CharField(max_length=255, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["portal", "target_field"], name="fieldmapping_unique_portal_target")
        ]

    def __str__(self):
        return f"{self.target_field} ← {self.source}"
