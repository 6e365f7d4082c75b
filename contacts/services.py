"""Operations that write contacts. Nothing else writes ``Contact`` rows.

Every write goes through ``contacts.models.donor_id_fields`` and ``search_text_for`` so the
Donor ID verdict and the search column never drift from the stored values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from . import csv_io
from .models import Contact, donor_id_fields, normalize_email, search_text_for

# Fields a caller may set; everything else on Contact is derived or owned by another app.
EDITABLE_FIELDS = ("email", "first_name", "last_name", "donor_id")
_LOOKUP_CHUNK = 2000
_WRITE_BATCH = 1000


class ImportRefused(Exception):
    """The whole file is refused (too big, not UTF-8 text, no email column). Nothing was written."""


@dataclass(frozen=True)
class RowProblem:
    line: int
    email: str
    message: str


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowProblem] = field(default_factory=list)  # rejected rows
    warnings: list[RowProblem] = field(default_factory=list)  # imported, but flagged
    emails: list[str] = field(default_factory=list)  # normalised emails of the accepted rows
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def rejected(self):
        return len(self.errors)

    @property
    def imported(self):
        return self.created

    def summary(self):
        return f"imported {self.created}, updated {self.updated}, rejected {self.rejected}"


def _clean(value):
    """Trimmed text, or None when blank: a blank cell never overwrites a stored value."""
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _batched(iterable, size):
    it = iter(iterable)
    while chunk := list(islice(it, size)):
        yield chunk


def _validate_row(row, line, seen):
    """The cleaned row, or a RowProblem saying why it is rejected."""
    email = _clean(row.get("email")) or ""
    if not email:
        return RowProblem(line, "", "Email is missing.")
    try:
        validate_email(email)
        if len(email) > 254:
            raise ValidationError("too long")
    except ValidationError:
        return RowProblem(line, email, f"“{email}” is not a valid email address.")
    norm = normalize_email(email)
    if norm in seen:
        return RowProblem(line, email, f"Duplicate email in file: {email} already appears on line {seen[norm]}.")
    cleaned = {"line": line, "email": email, "email_normalized": norm}
    for name, label, limit in (
        ("first_name", "First name", 150),
        ("last_name", "Last name", 150),
        ("donor_id", "Donor ID", 64),
    ):
        value = _clean(row.get(name))
        if value is not None and len(value) > limit:
            return RowProblem(line, email, f"{label} is longer than {limit} characters.")
        cleaned[name] = value
    return cleaned


@transaction.atomic
def contact_upsert_many(*, portal, rows):
    """Create or update contacts by normalised email, in one transaction.

    1. Each row (a dict with ``email`` and optional ``first_name``, ``last_name``,
       ``donor_id``, ``line``) is validated; a row with no or a bad email, a duplicate
       email earlier in ``rows``, or an over-long value is rejected and reported with its
       line (``row["line"]``, else its 1-based position).
    2. The portal's existing contacts for the accepted emails are read in chunks of
       2,000 (one query per chunk, never one per row).
    3. Values merge over the stored ones; a blank or missing value keeps the stored one
       (clearing a Donor ID is done on the edit page). A malformed Donor ID is stored and
       flagged ``invalid``, with a warning for the row, never dropped.
    4. New and changed rows are written with ``INSERT ... ON CONFLICT DO UPDATE`` in
       batches, so a contact created concurrently is updated rather than failing.
    """
    result = ImportResult()
    accepted = {}
    seen = {}  # normalised email -> line it was first accepted on
    for position, row in enumerate(rows, start=1):
        line = row.get("line") or position
        cleaned = _validate_row(row, line, seen)
        if isinstance(cleaned, RowProblem):
            result.errors.append(cleaned)
        else:
            accepted[cleaned["email_normalized"]] = cleaned
            seen[cleaned["email_normalized"]] = line
    result.emails = list(accepted)

    existing = {}
    for chunk in _batched(accepted, _LOOKUP_CHUNK):
        for contact in Contact.objects.filter(portal=portal, email_normalized__in=chunk):
            existing[contact.email_normalized] = contact

    now = timezone.now()
    to_write = []
    for norm, data in accepted.items():
        current = existing.get(norm)
        values = {"email": data["email"]}
        for name in ("first_name", "last_name", "donor_id"):
            given = data[name]
            values[name] = given if given is not None else (getattr(current, name) if current else "")
        values.update(donor_id_fields(values["donor_id"]))
        values["search_text"] = search_text_for(
            first_name=values["first_name"], last_name=values["last_name"],
            email=values["email"], donor_id=values["donor_id"],
        )
        if data["donor_id"] is not None and values["donor_id_status"] == Contact.DonorIdStatus.INVALID:
            verdict = Contact(donor_id=values["donor_id"]).donor_id_check
            result.warnings.append(
                RowProblem(data["line"], data["email"], f"Donor ID {verdict.value} imported but flagged invalid: {verdict.message}")
            )
        if current is None:
            result.created += 1
        elif all(getattr(current, k) == v for k, v in values.items()):
            result.unchanged += 1
            continue
        else:
            result.updated += 1
        to_write.append(
            Contact(portal=portal, email_normalized=norm, created_at=now, updated_at=now, **values)
        )

    for batch in _batched(to_write, _WRITE_BATCH):
        Contact.objects.bulk_create(
            batch,
            update_conflicts=True,
            unique_fields=["portal", "email_normalized"],
            update_fields=[
                "email", "first_name", "last_name", "donor_id", "donor_id_status",
                "donor_id_reason", "search_text", "updated_at",
            ],
        )
    return result


def contact_update(*, contact, **fields):
    """Change a contact's email, names or Donor ID; derived columns follow.

    Raises ValidationError (keyed by field) for an email that is invalid or already used
    by another contact of the portal. A Donor ID is stored as given; refusing an invalid
    one is the form's decision (the import keeps them, flagged).
    """
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"contact_update() cannot set {', '.join(sorted(unknown))}")
    if "email" in fields:
        email = (fields["email"] or "").strip()
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError({"email": "Enter a valid email address."}) from None
        norm = normalize_email(email)
        taken = Contact.objects.filter(portal=contact.portal_id, email_normalized=norm).exclude(pk=contact.pk)
        if taken.exists():
            raise ValidationError({"email": "Another contact in this portal already has this email."})
        contact.email, contact.email_normalized = email, norm
    for name in ("first_name", "last_name"):
        if name in fields:
            setattr(contact, name, (fields[name] or "").strip())
    if "donor_id" in fields:
        for name, value in donor_id_fields(fields["donor_id"]).items():
            setattr(contact, name, value)
    contact.search_text = search_text_for(
        first_name=contact.first_name, last_name=contact.last_name, email=contact.email, donor_id=contact.donor_id
    )
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError:
        # Lost a race with another writer taking the same email.
        raise ValidationError({"email": "Another contact in this portal already has this email."}) from None
    return contact


def contact_import_csv(*, portal, data):
    """Import a CSV file's bytes (see ``contacts.csv_io`` for the accepted shapes).

    Raises ImportRefused, writing nothing, when the file as a whole cannot be read; row
    problems are reported in the result. The whole import is one transaction. Kept apart
    from the view so a Celery task can run it later.
    """
    limit = settings.CONTACT_IMPORT_MAX_BYTES
    if len(data) > limit:
        raise ImportRefused(too_big_message(len(data)))
    try:
        parsed = csv_io.read_contacts_csv(data)
    except csv_io.CsvError as e:
        raise ImportRefused(str(e)) from e
    result = contact_upsert_many(portal=portal, rows=parsed.rows)
    result.ignored_columns = parsed.ignored_columns
    return result


def too_big_message(size):
    limit = settings.CONTACT_IMPORT_MAX_BYTES
    return (
        f"The file is {filesizeformat(size)}; the largest file we import is {filesizeformat(limit)}. "
        "Split it into smaller files and import them one after another."
    )
