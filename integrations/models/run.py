"""One ``SyncRun`` per run of a portal's sync: outcome, counts, API calls."""

from django.db import models
from django.utils import timezone

from thankview.models import Portal


class SyncRun(models.Model):
    """One run of the sync for one portal: when, up to which cut-off, what happened."""

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        OK = "ok", "Completed"
        PARTIAL = "partial", "Completed with record errors"
        MAPPING = "mapping_error", "Stopped: mapping error"
        SESSION_EXPIRED = "session_expired", "Stopped: session expired"
        PERMISSIONS = "permissions", "Stopped: permissions / API disabled"
        RATE_LIMITED = "rate_limited", "Stopped: API request limit exceeded"
        API_RESERVE = "api_reserve", "Stopped: API reserve reached"
        API_CAP = "api_cap", "Stopped: portal API cap reached"  # see budget.py
        UNAVAILABLE = "unavailable", "Stopped: unable to connect"
        ERROR = "error", "Stopped: error"
        ABANDONED = "abandoned", "Abandoned (worker stopped)"

    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="sync_runs")
    org_id = models.CharField("organization id", max_length=18, blank=True)
    trigger = models.CharField(max_length=20, default="beat")  # beat | command | test
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    cutoff = models.DateTimeField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.RUNNING)
    error_code = models.CharField(max_length=80, blank=True)
    error_message = models.TextField(blank=True)

    due = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    adopted = models.PositiveIntegerField(default=0)
    unmatched = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    invalid_donor_ids = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    api_remaining = models.PositiveIntegerField(null=True, blank=True)  # DailyApiRequests after the run
    api_max = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["portal", "-started_at"], name="syncrun_portal_started")]

    def __str__(self):
        return f"{self.portal} sync at {self.started_at:%Y-%m-%d %H:%M} ({self.outcome})"

    @property
    def duration(self):
        if self.finished_at:
            return self.finished_at - self.started_at
        return None

    @property
    def stopped(self):
        return self.outcome not in (self.Outcome.OK, self.Outcome.PARTIAL, self.Outcome.RUNNING)

    def summary(self) -> str:
        return (
            f"due {self.due}, created {self.created}, updated {self.updated}, "
            f"unmatched {self.unmatched}, failed {self.failed}, API calls {self.api_calls}"
        )
