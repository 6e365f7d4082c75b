"""Reads of contacts. Every function is scoped to one portal."""

from . import salesforce_ids
from .models import Contact, ContactImport, normalize_email


def contact_list(*, portal, q=None, invalid_only=False, list_filter=None):
    """The portal's contacts ordered by name, optionally searched and/or filtered.

    ``invalid_only`` keeps contacts whose Donor ID is invalid; ``list_filter`` is a
    ``contacts.extensions.ContactListFilter`` a higher app registered (e.g. the Salesforce
    sync's "No Salesforce match").

    ``q`` matches anywhere in the first and last name ("jane smith" works), the email or
    the Donor ID, case-insensitively. On PostgreSQL the substring search is served by the
    trigram index of migration 0002, and the plain and invalid lists by the name-ordered
    indexes on ``Contact``, so a page never sorts or scans 100,000 rows.
    """
    qs = Contact.objects.filter(portal=portal)
    if invalid_only:
        qs = qs.filter(donor_id_status=Contact.DonorIdStatus.INVALID)
    if list_filter is not None:
        qs = list_filter.apply(portal, qs)
    q = (q or "").strip()
    if q:
        # search_text is stored case-folded, so a plain (index-friendly) LIKE is case-insensitive.
        qs = qs.filter(search_text__contains=" ".join(q.split()).casefold())
    return qs.order_by(*Contact.ORDERING)


def invalid_donor_id_count(*, portal):
    """How many of the portal's contacts have an invalid Donor ID (one index-only count)."""
    return Contact.objects.filter(portal=portal, donor_id_status=Contact.DonorIdStatus.INVALID).count()


def contact_get(*, portal, pk):
    """The portal's contact with this id, or Contact.DoesNotExist (another portal's id too)."""
    return Contact.objects.get(portal=portal, pk=pk)


def contacts_by_email(*, portal, emails):
    """``{normalised email: Contact}`` for the given emails (any case), in chunks of 2,000
    (one query per chunk, never one per email), in the order the emails come."""
    norms = list(dict.fromkeys(normalize_email(e) for e in emails))
    found = {}
    for i in range(0, len(norms), 2000):
        for contact in Contact.objects.filter(portal=portal, email_normalized__in=norms[i : i + 2000]):
            found[contact.email_normalized] = contact
    return found


def donor_id_holders(*, portal, id18s):
    """``{18-character ID: [normalised email, ...]}``: the portal's contacts whose valid Donor ID
    is one of ``id18s``, stored in its 15- or 18-character form.

    One query: for a few IDs it names them; for many (a large import) it reads every valid
    Donor ID of the portal once, which costs less than thousands of lookups with no index.
    """
    wanted = set(id18s)
    if not wanted:
        return {}
    qs = Contact.objects.filter(
        portal=portal, donor_id_status__in=(Contact.DonorIdStatus.CONTACT, Contact.DonorIdStatus.LEAD)
    )
    if len(wanted) <= 1000:
        qs = qs.filter(donor_id__in=[f for id18 in wanted for f in (id18, id18[:15])])
    found = {}
    for email_normalized, donor_id in qs.order_by("id").values_list("email_normalized", "donor_id").iterator(5000):
        id18 = salesforce_ids.to_18(donor_id)
        if id18 in wanted:
            found.setdefault(id18, []).append(email_normalized)
    return found


def contact_import_list(*, portal):
    """The portal's imports, newest first."""
    return ContactImport.objects.filter(portal=portal).order_by("-created_at", "-id")


def contact_import_get(*, portal, pk):
    """The portal's import with this id, or ContactImport.DoesNotExist (another portal's too)."""
    return ContactImport.objects.select_related("portal").get(portal=portal, pk=pk)
