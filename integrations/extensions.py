"""What the Salesforce integration adds to the lower apps' pages, through their extension
points (``contacts.extensions``, ``engagement.extensions``); registered by
``IntegrationsConfig.ready()``."""

from django.db import models

from contacts.extensions import ContactListFilter

from .models import SalesforceConnection, SalesforceRecord


def unmatched_contact_ids(*, portal):
    """A subquery of the ids of contacts with a send the sync could not match.

    Only records of the org the portal is connected to now count: after reconnecting to
    another org, the old org's "no match" says nothing about the new one. A contact drops
    out as soon as a run matches it (the record's status changes).
    """
    org_id = SalesforceConnection.objects.filter(portal=portal).values("org_id")[:1]
    return SalesforceRecord.objects.filter(
        portal=portal, org_id=models.Subquery(org_id), status=SalesforceRecord.Status.UNMATCHED
    ).values("send__contact_id")


def unmatched_contacts_filter(portal, queryset):
    """The contacts of ``queryset`` the Salesforce sync found no Contact or Lead for."""
    return queryset.filter(pk__in=unmatched_contact_ids(portal=portal))


# The sync health page links here with ?filter=unmatched.
UNMATCHED_CONTACTS = ContactListFilter(
    slug="unmatched",
    label="No Salesforce match",
    apply=unmatched_contacts_filter,
    caption="with no Salesforce match",
    empty="Every synced contact has a match in Salesforce.",
    help=(
        "Contacts the last Salesforce sync could not match: no Contact with their Donor ID, and no "
        "Contact or Lead with their email, in the connected Salesforce org. Check the email for typos, "
        "set the Donor ID to their Salesforce Contact ID, or make sure they exist in the right "
        "environment (sandbox or production). The next sync picks them up."
    ),
)
