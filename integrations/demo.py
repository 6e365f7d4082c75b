"""The Salesforce side of the `make run` demo.

With no real Salesforce configured, `make run` starts the local simulator with
``--seed .sfsim/demo-org.json``. This writes that file from the demo portal's contacts so
that, once the demo admin connects and support enables sync, every matching rule of the
guide has someone to show: Donor ID → Contact, Donor ID → Lead, Contact by email (in a
different case), Lead by email, and contacts with no Salesforce record at all.
"""

import json
from pathlib import Path

from django.conf import settings

from contacts.models import Contact

DEMO_ORG_FILE = Path(settings.BASE_DIR) / ".sfsim" / "demo-org.json"


def org_records(contacts):
    """``{"Contact": [...], "Lead": [...]}`` for the simulator, from a portal's contacts."""
    org = {"Contact": [], "Lead": []}
    for i, contact in enumerate(contacts):
        person = {"FirstName": contact.first_name, "LastName": contact.last_name or "Unknown"}
        check = contact.donor_id_check
        if check.ok and check.object == "Contact":
            org["Contact"].append({**person, "Id": check.id18, "Email": contact.email})
        elif check.ok and check.object == "Lead":
            org["Lead"].append({**person, "Id": check.id18, "Email": contact.email, "Company": "Household"})
        elif i % 4 == 0:  # matched by email although Salesforce stores it in another case
            org["Contact"].append({**person, "Email": contact.email.upper()})
        elif i % 4 == 1:
            org["Lead"].append({**person, "Email": contact.email, "Company": "Household"})
        elif i % 4 == 3:
            org["Contact"].append({**person, "Email": contact.email})
        # i % 4 == 2: not in Salesforce; the sync health page lists it as "no match".
    return org


def seed(*, portal, user=None):
    if not settings.SALESFORCE_USES_SIMULATOR:
        return ""
    org = org_records(Contact.objects.filter(portal=portal).order_by("pk"))
    DEMO_ORG_FILE.parent.mkdir(parents=True, exist_ok=True)
    DEMO_ORG_FILE.write_text(json.dumps(org, indent=1))
    return (
        f"simulator org: {len(org['Contact'])} Contacts and {len(org['Lead'])} Leads in "
        f"{DEMO_ORG_FILE.relative_to(settings.BASE_DIR)}"
    )
