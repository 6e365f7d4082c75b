"""One ``SalesforceRecord`` per (send, org): what the sync knows of a send's record there.

The sync engine is the only writer.

Why per org: a portal may reconnect from a sandbox to production. The record ids, the match
and the synced cut-off of the old org stay on the old org's rows, and the new org starts with
no rows at all, so nothing is ever written into one org under the ids of another.
"""

from django.db import models
from django.utils import timezone

from thankview.models import Portal


class SalesforceRecord(models.Model):
    """What the sync knows about one send's ``ThankView__c`` record in one Salesforce org."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the next sync"
        SYNCED = "synced", "Synced"
        UNMATCHED = "unmatched", "No matching Contact or Lead"
        FAILED = "failed", "Salesforce rejected the record"

    class MatchMethod(models.TextChoices):
        NONE = "", "Not matched"
        DONOR_ID_CONTACT = "donor_id_contact", "Donor ID → Contact"
        DONOR_ID_LEAD = "donor_id_lead", "Donor ID → Lead"
        EMAIL_CONTACT = "email_contact", "Email → Contact"
        EMAIL_LEAD = "email_lead", "Email → Lead"
        EMAIL_CONVERTED_LEAD = "email_converted_lead", "Email → converted Lead → Contact"

    send = models.ForeignKey("engagement.Send", on_delete=models.CASCADE, related_name="salesforce_records")
    # Denormalised from send.campaign.portal: the health page and the due query filter on it.
    portal = models.ForeignKey(Portal, on_delete=models.CASCADE, related_name="salesforce_records")
    org_id = models.CharField("organization id", max_length=18)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    record_id = models.CharField("ThankView__c id", max_length=18, blank=True)

    # The match, kept once the record exists (a send does not move to another person).
    match_method = models.CharField(max_length=24, choices=MatchMethod.choices, blank=True)
    lookup_field = models.CharField(max_length=80, blank=True)  # Contact__c or the custom lookup
    contact_id = models.CharField(max_length=18, blank=True)  # value of lookup_field
    lead_id = models.CharField(max_length=18, blank=True)  # value of Lead__c
    match_note = models.CharField(max_length=255, blank=True)  # e.g. several Contacts share the email
    # What the sync changed to fit the org's fields, e.g. "Text_Reply__c cut to 80 characters".
    value_note = models.CharField(max_length=255, blank=True)
    donor_id_invalid = models.BooleanField(default=False)  # the Donor ID failed validation; email was used

    # Due bookkeeping: events received after this cut-off are not in Salesforce yet.
    last_synced_cutoff = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    resync_requested_at = models.DateTimeField(null=True, blank=True)
    # Written *before* a create call without an External ID: if the outcome of that call is
    # never learned (worker died, connection dropped after Salesforce committed), the next
    # run looks the record up by its natural key and adopts it instead of creating another.
    attempt_marker = models.CharField(max_length=36, blank=True)
    attempt_at = models.DateTimeField(null=True, blank=True)

    # Last per-record error from Salesforce (code, message, fields), or ours for "no match".
    error_code = models.CharField(max_length=80, blank=True)
    error_message = models.TextField(blank=True)
    error_fields = models.JSONField(default=list, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Salesforce record"
        verbose_name_plural = "Salesforce records"
        constraints = [
            models.UniqueConstraint(fields=["send", "org_id"], name="sfrecord_unique_send_org"),
        ]
        indexes = [
            models.Index(fields=["portal", "org_id", "status"], name="sfrecord_portal_org_status"),
            models.Index(fields=["org_id", "record_id"], name="sfrecord_org_record"),
        ]

    def __str__(self):
        return f"send {self.send_id} in {self.org_id}: {self.record_id or self.status}"
