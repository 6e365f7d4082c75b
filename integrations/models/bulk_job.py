"""Every Bulk API 2.0 ingest job a run opens, recorded *before* its CSV is uploaded.

A job whose outcome the run never learned (worker killed, poll timed out) is settled by the
next run of the portal before it writes anything: it waits for the job to finish, so that the
natural-key recovery of the sends' attempt markers finds the records the job created instead
of creating them again.
"""

from django.db import models
from django.utils import timezone

from thankview.models import Portal


class BulkJob(models.Model):
    class Operation(models.TextChoices):
        INSERT = "insert", "Insert"
        UPDATE = "update", "Update"
        UPSERT = "upsert", "Upsert"

    FINAL_STATES = ("JobComplete", "Failed", "Aborted")

    run = models.ForeignKey("integrations.SyncRun", on_delete=models.CASCADE, related_name="bulk_jobs")
    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="salesforce_bulk_jobs")
    org_id = models.CharField("organization id", max_length=18)
    job_id = models.CharField("Salesforce job id", max_length=18, blank=True)
    operation = models.CharField(max_length=10, choices=Operation.choices)
    rows = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=20, default="Open")  # Salesforce's job state
    processed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    error_message = models.TextField(blank=True)
    # True once the run stored every row's outcome, or a later run waited for the job.
    settled = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "Salesforce bulk job"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["portal", "settled"], name="bulkjob_portal_settled")]

    def __str__(self):
        return f"{self.operation} job {self.job_id or '(not created)'} ({self.state}, {self.rows} rows)"
