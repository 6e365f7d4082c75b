"""What the Salesforce integration adds to the lower apps' pages, through their extension
points (``contacts.extensions``, ``engagement.extensions``); registered by
``IntegrationsConfig.ready()``."""

from contacts.extensions import ContactListFilter
from engagement.extensions import SendStatusProvider

from .selectors import send_sync_status, unmatched_contacts_filter

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

SEND_SYNC_STATUS = SendStatusProvider(
    key="salesforce",
    title="Salesforce",
    status=send_sync_status,
    template="integrations/_send_sync_status.html",
)
