"""Contacts: the people a portal sends campaigns to.

A contact is unique per portal on its normalised (trimmed, case-folded) email. ``donor_id``
keeps exactly what the customer imported, valid or not, so staff can see and fix it; its
verdict (``donor_id_status`` / ``donor_id_reason``) is derived by ``contacts.salesforce_ids``
and kept in sync by ``contacts.services`` (the only code that writes contacts), so the
"Invalid Donor ID" filter and banner are one indexed query.
"""

import uuid

from django.conf import settings
from django.db import models

from . import salesforce_ids


def normalize_email(value):
    """Trimmed and case-folded: the key contacts are matched on."""
    return (value or "").strip().casefold()


def search_text_for(*, first_name, last_name, email, donor_id):
    """The one column the list's search runs on (trigram-indexed on PostgreSQL).

    Case-folded so a plain ``LIKE '%q%'`` is case-insensitive on every database, and in
    "first last" order so a full-name search ("jane smith") matches.
    """
    return " ".join(p for p in (first_name, last_name, email, donor_id) if p).casefold()


def donor_id_fields(donor_id):
    """The stored Donor ID and its verdict, as model field values."""
    verdict = salesforce_ids.check(donor_id)
    if verdict.is_blank:
        status = Contact.DonorIdStatus.NONE
    elif verdict.ok:
        status = Contact.DonorIdStatus.CONTACT if verdict.object == "Contact" else Contact.DonorIdStatus.LEAD
    else:
        status = Contact.DonorIdStatus.INVALID
    return {"donor_id": verdict.value, "donor_id_status": status, "donor_id_reason": verdict.reason or ""}


class Contact(models.Model):
    class DonorIdStatus(models.TextChoices):
        NONE = "", "No Donor ID"
        CONTACT = "contact", "Salesforce Contact ID"
        LEAD = "lead", "Salesforce Lead ID"
        INVALID = "invalid", "Invalid Donor ID"

    portal = models.ForeignKey("thankview.Portal", on_delete=models.CASCADE, related_name="contacts")
    email = models.CharField(max_length=254, help_text="As given, trimmed.")
    email_normalized = models.CharField(max_length=254, editable=False)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    donor_id = models.CharField(
        "Donor ID", max_length=64, blank=True, help_text="What the customer imported, even if invalid."
    )
    donor_id_status = models.CharField(
        "Donor ID status", max_length=10, choices=DonorIdStatus.choices, blank=True, editable=False
    )
    # One of salesforce_ids.REASONS when the status is "invalid"; the message is rebuilt from it.
    donor_id_reason = models.CharField(max_length=16, blank=True, editable=False)
    search_text = models.TextField(blank=True, editable=False)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The list is ordered by name; these indexes serve the plain list and the Invalid filter
    # straight from the index (no sort), see benchmarks/README.md.
    ORDERING = ("last_name", "first_name", "id")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["portal", "email_normalized"], name="contact_unique_portal_email")
        ]
        indexes = [
            models.Index(fields=["portal", "last_name", "first_name", "id"], name="contact_portal_name"),
            models.Index(
                fields=["portal", "donor_id_status", "last_name", "first_name", "id"], name="contact_portal_status"
            ),
        ]

    def __str__(self):
        return f"{self.name} <{self.email}>" if self.name else self.email

    @property
    def name(self):
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    @property
    def donor_id_check(self):
        return salesforce_ids.check(self.donor_id)

    @property
    def donor_id_is_invalid(self):
        return self.donor_id_status == self.DonorIdStatus.INVALID

    @property
    def can_receive(self):
        """False once the contact unsubscribed or their address bounced."""
        return self.unsubscribed_at is None and self.bounced_at is None


def _import_upload_to(instance, filename):
    # A random name under the portal's folder: the uploaded name is untrusted text, kept
    # only for display (``ContactImport.filename``).
    return f"contact-imports/{instance.portal_id}/{uuid.uuid4().hex}.csv"


def import_summary(*, created, updated, unchanged, rejected, rows):
    """One line a person can check: every data row is imported, updated, unchanged or rejected."""
    kept = f", unchanged {unchanged}" if unchanged else ""
    return f"imported {created}, updated {updated}{kept}, rejected {rejected} of {rows} rows"


class ContactImport(models.Model):
    """One CSV upload and its import, run by a Celery task so the request never waits.

    The file lives in Django storage (under MEDIA_ROOT); the task gets this row's id.
    ``contacts.services`` writes every field; the page polls them through a JSON endpoint.

    Phases, as the page labels them (the import is all-or-nothing, see
    ``services.contact_import_run``):

    - ``queued``: waiting for a worker;
    - ``checking``: ``processed_rows`` of ``total_rows`` read and validated (nothing written);
    - ``saving``: the accepted rows are being written in ONE transaction; ``saved_rows``
      of ``save_total`` are written but not yet committed (the page says so: they appear
      together, or not at all);
    - ``done``: committed; ``created`` / ``updated`` / ``unchanged`` / ``rejected`` are final;
    - ``failed``: nothing was imported; ``error`` says why.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to start"
        CHECKING = "checking", "Checking rows"
        SAVING = "saving", "Saving"
        DONE = "done", "Finished"
        FAILED = "failed", "Failed"

    FINISHED = (Status.DONE, Status.FAILED)
    # Row problems kept for the page; the counts stay exact beyond this.
    MAX_STORED_PROBLEMS = 1000

    portal = models.ForeignKey("thankview.Portal", on_delete=models.CASCADE, related_name="contact_imports")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    file = models.FileField(upload_to=_import_upload_to, max_length=300)
    filename = models.CharField(max_length=255, help_text="The name of the uploaded file, as shown to staff.")
    size = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveIntegerField(null=True, blank=True)  # known once the file is parsed
    processed_rows = models.PositiveIntegerField(default=0)  # rows checked (not written)
    # While saving: contacts to write (new or changed) and how many are written so far,
    # inside the still-open transaction (recorded through a side connection; PostgreSQL only).
    save_total = models.PositiveIntegerField(null=True, blank=True)
    saved_rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    flagged = models.PositiveIntegerField(default=0)  # imported with an invalid Donor ID
    # [{"line", "email", "message"}], the first MAX_STORED_PROBLEMS of each.
    errors = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    ignored_columns = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)  # why the whole import failed
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["portal", "-created_at"], name="contactimport_portal_created")]

    def __str__(self):
        return f"Import of {self.filename} ({self.get_status_display()})"

    @property
    def is_finished(self):
        return self.status in self.FINISHED

    def summary(self):
        return import_summary(
            created=self.created, updated=self.updated, unchanged=self.unchanged, rejected=self.rejected,
            rows=self.total_rows or 0,
        )

    def progress_label(self):
        """What the page says about this import, in words that never overclaim."""
        Status = self.Status
        if self.status == Status.QUEUED:
            return "Waiting for a worker to start the import…"
        if self.status == Status.CHECKING:
            if self.total_rows is None:
                return "Reading the file…"
            return f"Checked {self.processed_rows:,} of {self.total_rows:,} rows. Nothing is saved until every row is checked."
        if self.status == Status.SAVING:
            if self.save_total:
                return (
                    f"All {self.total_rows or 0:,} rows checked. Writing contacts: {self.saved_rows:,} of "
                    f"{self.save_total:,} written. They are saved together once all are written (all or nothing)."
                )
            return f"All {self.total_rows or 0:,} rows checked. Saving the contacts in one step (all or nothing)…"
        if self.status == Status.DONE:
            return f"Import finished: {self.summary()}."
        return f"Import failed: {self.error}"

    def progress(self):
        """``(value, max)`` for a ``<progress>`` bar, or None while the amount is unknown."""
        if self.status == self.Status.CHECKING and self.total_rows:
            return self.processed_rows, self.total_rows
        if self.status == self.Status.SAVING and self.save_total:
            return self.saved_rows, self.save_total
        if self.status == self.Status.DONE:
            return 1, 1
        return None
