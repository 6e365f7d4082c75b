"""Support asked to re-sync a campaign; the sync health page shows its progress (sends
re-synced since the request / sends requested)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from thankview.models import Portal


class ResyncRequest(models.Model):
    """Support re-synced a campaign (Django admin or ``manage.py salesforce resync``)."""

    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="salesforce_resyncs")
    campaign = models.ForeignKey("engagement.Campaign", on_delete=models.CASCADE, related_name="salesforce_resyncs")
    org_id = models.CharField("organization id", max_length=18)
    requested_at = models.DateTimeField(default=timezone.now)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    total = models.PositiveIntegerField(default=0)  # sends marked due by the request

    class Meta:
        verbose_name = "re-sync request"
        ordering = ["-requested_at", "-id"]
        verbose_name = "re-sync request"
        indexes = [models.Index(fields=["portal", "-requested_at"], name="resync_portal_requested")]

    def __str__(self):
        return f"re-sync of {self.campaign} at {self.requested_at:%Y-%m-%d %H:%M}"
