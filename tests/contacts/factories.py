"""Contacts are created through the service, as in production, so derived columns are right."""

import itertools

from contacts import services
from contacts.models import Contact

_seq = itertools.count(1)


def make_contact(portal, *, email=None, first_name="", last_name="", donor_id="", **extra):
    email = email or f"person{next(_seq)}@example.org"
    result = services.contact_upsert_many(
        portal=portal,
        rows=[{"email": email, "first_name": first_name, "last_name": last_name, "donor_id": donor_id}],
    )
    assert not result.errors, result.errors
    contact = Contact.objects.get(portal=portal, email_normalized=email.strip().casefold())
    if extra:
        Contact.objects.filter(pk=contact.pk).update(**extra)
        contact.refresh_from_db()
    return contact
