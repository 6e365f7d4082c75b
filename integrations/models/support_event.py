"""One line of a portal's sync history written by a support action: sync enabled or paused,
a campaign re-synced, the API cap or the contact object changed, the org disconnected.

The portal's Sync health page shows these ("Paused by ThankView support on …"); Django
admin's own history (``LogEntry``) records the same action for support.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from thankview.models import Portal


class SupportEvent(models.Model):
    """What support did to one portal's sync, when, and who did it."""

    class Kind(models.TextChoices):
        ENABLED = "enabled", "Sync enabled"
        PAUSED = "paused", "Sync paused"
        RESYNC = "resync", "Re-sync requested"
        API_CAP = "api_cap", "API cap changed"
        CONTACT_OBJECT = "contact_object", "Contact object changed"
        DISCONNECTED = "disconnected", "Disconnected"

    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="salesforce_support_events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The portal-facing sentence, e.g. "Re-sync of Spring Gala requested".
    summary = models.CharField(max_length=255)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["portal", "-at"], name="supportevent_portal_at")]
        verbose_name = "support action"
        verbose_name_plural = "support actions"

    def __str__(self):
        return f"{self.summary} ({self.at:%Y-%m-%d %H:%M})"
