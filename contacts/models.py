"""Contacts: the people a portal sends campaigns to.

A contact is unique per portal on its normalised (trimmed, case-folded) email. ``donor_id``
keeps exactly what the customer imported, valid or not, so staff can see and fix it; its
verdict (``donor_id_status`` / ``donor_id_reason``) is derived by ``contacts.salesforce_ids``
and kept in sync by ``contacts.services`` (the only code that writes contacts), so the
"Invalid Donor ID" filter and banner are one indexed query.
"""

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
