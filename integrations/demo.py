"""The Salesforce side of the `make run` demo.

With no real Salesforce configured, `make run` starts the local simulator with
``--seed .sfsim/demo-org.json``. This writes that file from the demo portal's contacts so
that, once the demo admin connects and support enables sync, every matching rule of the
guide has someone to show: Donor ID → Contact, Donor ID → Lead, Contact by email (in a
different case), Lead by email, and contacts with no Salesforce record at all.
"""

import json
import os
from pathlib import Path

from django.conf import settings

from contacts.models import Contact

DEMO_ORG_FILE = Path(settings.BASE_DIR) / ".sfsim" / "demo-org.json"


def org_records(contacts):
    """``({"Contact": [...], "Lead": [...]}, skipped)`` for the simulator, from a portal's contacts.

    A Salesforce ID names one record, so a second contact with the same Donor ID adds nothing:
    it is skipped and named in ``skipped`` (it still matches the first one's record).
    """
    org = {"Contact": [], "Lead": []}
    seen, skipped = {}, []
    for i, contact in enumerate(contacts):
        person = {"FirstName": contact.first_name, "LastName": contact.last_name or "Unknown"}
        check = contact.donor_id_check
        if check.ok and check.id18 in seen:
            skipped.append(f"{contact.email} (Donor ID {check.id18} is also {seen[check.id18]}'s)")
        elif check.ok and check.object == "Contact":
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
        if check.ok:
            seen.setdefault(check.id18, contact.email)
    return org, skipped


def seed(*, portal, user=None):
    if not settings.SALESFORCE_USES_SIMULATOR:
        return ""
    org, skipped = org_records(Contact.objects.filter(portal=portal).order_by("pk"))
    DEMO_ORG_FILE.parent.mkdir(parents=True, exist_ok=True)
    DEMO_ORG_FILE.write_text(json.dumps(org, indent=1))
    warnings = "".join(f"\n    warning: skipped {s}" for s in skipped)
    return (
        f"simulator org: {len(org['Contact'])} Contacts and {len(org['Lead'])} Leads in "
        f"{os.path.relpath(DEMO_ORG_FILE, settings.BASE_DIR)}{warnings}"
    )
