"""Demo contacts for `make run`: realistic donors, a few with the Donor ID mistakes the guide
warns about, so the "Invalid Donor ID" filter and edit page have something to show."""

import random
import unicodedata

from . import salesforce_ids, services
from .models import normalize_email
from .selectors import contacts_by_email, invalid_donor_id_count

FIRST = [
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Sophia", "Elijah", "Isabella", "Lucas",
    "Mia", "Mateo", "Charlotte", "Levi", "Harper", "Ethan", "Evelyn", "James", "Abigail", "Benjamin",
    "Priya", "Wei", "Fatima", "Kenji", "Aisha", "Diego", "Ingrid", "Tomás", "Zoë", "Kwame",
]
LAST = [
    "Anderson", "Okafor", "García", "Nguyen", "Patel", "Kowalski", "Smith", "Johnson", "O'Brien", "Müller",
    "Rossi", "Tanaka", "Haddad", "Lindqvist", "Mensah", "Dubois", "Silva", "Cohen", "Fischer", "Walker",
]
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _salesforce_id(rng, prefix):
    """A plausible 18-character ID with the right checksum (pod + zeros + random tail)."""
    id15 = prefix + "5g" + "0000" + "".join(rng.choice(_BASE62) for _ in range(6))
    return salesforce_ids.to_18(id15)


def rows(count=60, seed=7):
    rng = random.Random(seed)
    out = []
    for i in range(count):
        first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
        local = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode()
        local = local.lower().replace("'", "").replace(" ", "")
        email = f"{local}{i}@example.org"
        if i % 3 == 0:
            donor_id = ""  # matched by email
        elif i % 3 == 1:
            donor_id = _salesforce_id(rng, "003")
        else:
            donor_id = _salesforce_id(rng, "003")[:15]  # 15-character form is valid too
        out.append({"email": email, "first_name": first, "last_name": last, "donor_id": donor_id})

    # The mistakes the guide describes, plus the spreadsheet one it doesn't.
    mangled = _salesforce_id(rng, "003").lower()
    out[4]["donor_id"] = "1004422"  # numeric-only
    out[10]["donor_id"] = "001D000000IRFmaIAH"  # an Account ID
    out[16]["donor_id"] = mangled  # case changed by a spreadsheet: repairable
    out[22]["donor_id"] = "003RO0000035"  # truncated
    out[28]["donor_id"] = "SF-20417"  # a legacy CRM number
    out[34]["donor_id"] = _salesforce_id(rng, "00Q")  # a Lead
    out[40]["donor_id"] = _salesforce_id(rng, "00Q")[:15]
    # Known to the real Salesforce guide examples: a 003 ID in its 18-character form.
    out[46]["donor_id"] = "003RO0000035WQgYAM"
    return out


def seed(*, portal, user=None):
    """Add the demo contacts the portal does not have (by email); never touch one it has, so
    a Donor ID fixed or a name changed in the demo survives the next `make run`."""
    demo = rows()
    known = set(contacts_by_email(portal=portal, emails=[r["email"] for r in demo]))
    result = services.contact_upsert_many(portal=portal, rows=[r for r in demo if normalize_email(r["email"]) not in known])
    return (
        f"{result.created} contacts added, {len(known)} already there; "
        f"{invalid_donor_id_count(portal=portal)} with an invalid Donor ID"
    )
