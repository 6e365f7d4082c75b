"""Operations that write contacts. Nothing else writes ``Contact`` rows.

Every write goes through ``contacts.models.donor_id_fields`` and ``search_text_for`` so the
Donor ID verdict and the search column never drift from the stored values.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from itertools import islice

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    IntegrityError,
    connection,
    connections,
    transaction,
)
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from thankview.text import one_line

from . import csv_io, salesforce_ids
from .models import (
    Contact,
    ContactImport,
    donor_id_fields,
    import_summary,
    normalize_email,
    search_text_for,
)
from .selectors import contacts_by_email, donor_id_holders

logger = logging.getLogger(__name__)

# Fields a caller may set; everything else on Contact is derived or owned by another app.
EDITABLE_FIELDS = ("email", "first_name", "last_name", "donor_id")
_WRITE_BATCH = 1000
# A background import writes its "rows checked" count every this many rows: one small
# UPDATE per 500 rows is noise next to validating them, and the bar still moves smoothly.
PROGRESS_EVERY = 500


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
    rows: int = 0  # data rows given; created + updated + unchanged + rejected == rows

    @property
    def rejected(self):
        return len(self.errors)

    @property
    def imported(self):
        return self.created

    def summary(self):
        return import_summary(
            created=self.created, updated=self.updated, unchanged=self.unchanged, rejected=self.rejected, rows=self.rows
        )


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
    if row.get("problem"):  # the CSV reader could not read this row
        return RowProblem(line, (row.get("email") or "").replace("\x00", ""), row["problem"])
    if any("\x00" in str(row.get(name) or "") for name in ("email", "donor_id")):
        # PostgreSQL text cannot hold NUL; refuse the row rather than fail the whole import.
        return RowProblem(line, (_clean(row.get("email")) or "").replace("\x00", ""), "The row contains a NUL character, which cannot be stored.")
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
        value = _clean(one_line(row.get(name)) if name != "donor_id" else row.get(name))
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
    accepted = _rows_check(rows, result)
    _contacts_write(portal=portal, accepted=accepted, result=result)
    return result


def _rows_check(rows, result, *, progress=None):
    """Steps 1 of ``contact_upsert_many``: the accepted rows by normalised email.

    Writes nothing; ``progress(rows_checked)`` is called every ``PROGRESS_EVERY`` rows.
    """
    accepted = {}
    seen = {}  # normalised email -> line it was first accepted on
    position = 0
    for position, row in enumerate(rows, start=1):
        line = row.get("line") or position
        cleaned = _validate_row(row, line, seen)
        if isinstance(cleaned, RowProblem):
            result.errors.append(cleaned)
        else:
            accepted[cleaned["email_normalized"]] = cleaned
            seen[cleaned["email_normalized"]] = line
        if progress is not None and position % PROGRESS_EVERY == 0:
            progress(position)
    result.emails = list(accepted)
    result.rows = position
    return accepted


def _donor_id_shared_warnings(*, portal, accepted, result):
    """Warn, by line, of a valid Donor ID that another contact of the portal (or an earlier row)
    already has. The row is still imported: both contacts then match one Salesforce record."""
    checks = {norm: salesforce_ids.check(data["donor_id"]) for norm, data in accepted.items() if data["donor_id"]}
    ids = {norm: check.id18 for norm, check in checks.items() if check.ok}
    holders = donor_id_holders(portal=portal, id18s=set(ids.values()))
    first_in_file = {}
    for norm, id18 in ids.items():
        other = next((e for e in holders.get(id18, []) if e != norm), None) or first_in_file.get(id18)
        first_in_file.setdefault(id18, norm)
        if other:
            data = accepted[norm]
            message = f"Donor ID {data['donor_id']} is already used by {other}: both contacts will match the same Salesforce record."
            result.warnings.append(RowProblem(data["line"], data["email"], message))


def _contacts_write(*, portal, accepted, result, progress=None):
    """Steps 2-4 of ``contact_upsert_many``; the caller owns the transaction.

    ``progress(written, to_write)`` is called before the first batch and after each one.
    """
    existing = contacts_by_email(portal=portal, emails=accepted)
    _donor_id_shared_warnings(portal=portal, accepted=accepted, result=result)

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

    written = 0
    if progress is not None:
        progress(written, len(to_write))
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
        written += len(batch)
        if progress is not None:
            progress(written, len(to_write))
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
            setattr(contact, name, one_line(fields[name] or ""))
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


# --- Background import (the page) --------------------------------------------------------


def contact_import_create(*, portal, created_by, upload):
    """Store an uploaded CSV as a queued ``ContactImport``; ``jobs.contact_import_start``
    then hands its id to a worker.

    A file refused as a whole (too big, not UTF-8, no email column) raises ImportRefused
    here, in the request, so the form shows why and nothing is stored or queued. Everything
    else (parsing every row, validating, writing) happens in ``contact_import_run`` on a
    worker; the bytes travel through Django storage (MEDIA_ROOT), never through the broker.
    """
    if upload.size > settings.CONTACT_IMPORT_MAX_BYTES:
        raise ImportRefused(too_big_message(upload.size))
    data = upload.read()
    if len(data) > settings.CONTACT_IMPORT_MAX_BYTES:
        raise ImportRefused(too_big_message(len(data)))
    try:
        csv_io.check_header(data)
    except csv_io.CsvError as e:
        raise ImportRefused(str(e)) from e
    job = ContactImport(portal=portal, created_by=created_by, filename=(upload.name or "contacts.csv")[:255], size=len(data))
    job.file.save("upload.csv", ContentFile(data), save=False)
    job.save()
    return job


def _problems(items):
    return [
        {"line": p.line, "email": p.email, "message": p.message}
        for p in items[: ContactImport.MAX_STORED_PROBLEMS]
    ]


def contact_import_run(*, job):
    """Run a queued import; all-or-nothing, and safe to run twice.

    1. Claim the job (queued, or left checking/saving by a worker that died: nothing of
       that run was committed, so it simply starts over). A finished job is left alone.
    2. Parse the stored file and record ``total_rows``; a file that breaks mid-way
       (malformed quoting) fails the job with the line number.
    3. Validate every row in memory, committing ``processed_rows`` every
       ``PROGRESS_EVERY`` rows with a targeted UPDATE. These are rows *checked*: nothing
       is written yet, and the page says so.
    4. Switch to ``saving`` and write the accepted rows AND the final counts in ONE
       transaction (the final UPDATE only matches a job not yet done, so a duplicate run
       that gets there second rolls back and writes nothing). While saving,
       uncommitted rows may still roll back, so the count of rows written so far goes
       through a side connection and is labelled as written-not-yet-saved, never as
       imported. The final counts are written by the same transaction as the contacts.
    5. Any failure marks the job ``failed`` with a message; no contact was changed.
    6. The uploaded file is deleted once the job is finished (it holds personal data);
       the counts and the row problems stay on the job.

    Why all-or-nothing rather than resumable: the page, the command and the API all promise
    that an import is one transaction, and a file half-imported after a crash is harder for
    staff to reason about than one that failed and can simply be uploaded again (the import
    is an upsert by email, so re-running it is harmless).
    """
    Status = ContactImport.Status
    jobs = ContactImport.objects.filter(pk=job.pk)
    claimed = jobs.filter(status__in=[Status.QUEUED, Status.CHECKING, Status.SAVING]).update(
        status=Status.CHECKING, started_at=timezone.now(), processed_rows=0, total_rows=None, saved_rows=0,
        save_total=None,
    )
    if not claimed:
        return job
    try:
        result = _import_job_execute(job=job, jobs=jobs)
    except ImportRefused as e:
        _import_job_fail(jobs, str(e))
    except Exception:
        logger.exception("contact import %s failed", job.pk)
        _import_job_fail(jobs, "The import stopped because of an internal error; please upload the file again.")
    else:
        if result is not None:
            logger.info("contact import %s: %s", job.pk, result.summary())
    job.refresh_from_db()
    if job.is_finished and job.file:
        job.file.delete(save=False)
        ContactImport.objects.filter(pk=job.pk).update(file="")
    return job


def _import_job_fail(jobs, message):
    jobs.exclude(status=ContactImport.Status.DONE).update(
        status=ContactImport.Status.FAILED, error=f"{message} Nothing was imported.", finished_at=timezone.now()
    )


def _import_job_execute(*, job, jobs):
    Status = ContactImport.Status
    try:
        with job.file.open("rb") as fh:
            data = fh.read()
    except (OSError, ValueError) as e:
        raise ImportRefused("The uploaded file is no longer available. Please upload it again.") from e
    if len(data) > settings.CONTACT_IMPORT_MAX_BYTES:
        raise ImportRefused(too_big_message(len(data)))
    try:
        parsed = csv_io.read_contacts_csv(data)
    except csv_io.CsvError as e:
        raise ImportRefused(str(e)) from e
    del data
    total = len(parsed.rows)
    jobs.update(total_rows=total)

    result = ImportResult(ignored_columns=parsed.ignored_columns)
    accepted = _rows_check(parsed.rows, result, progress=lambda n: jobs.update(processed_rows=n))
    jobs.update(processed_rows=total, status=Status.SAVING)

    side = _SideConnection()
    try:
        with transaction.atomic():
            _contacts_write(
                portal=job.portal, accepted=accepted, result=result,
                progress=lambda written, of: side.execute(
                    f"UPDATE {ContactImport._meta.db_table} SET saved_rows = %s, save_total = %s WHERE id = %s",
                    [written, of, job.pk],
                ),
            )
            # Conditional on "not done yet": if a duplicate run committed first (or commits while
            # we wait on its row lock), this matches nothing and everything above rolls back.
            finished = jobs.exclude(status=Status.DONE).update(
                status=Status.DONE,
                created=result.created,
                updated=result.updated,
                unchanged=result.unchanged,
                rejected=result.rejected,
                flagged=len(result.warnings),
                errors=_problems(result.errors),
                warnings=_problems(result.warnings),
                ignored_columns=result.ignored_columns,
                finished_at=timezone.now(),
            )
            if not finished:
                raise _AlreadyImported
    except _AlreadyImported:
        return None
    finally:
        side.close()
    return result


class _AlreadyImported(Exception):
    """A duplicate run of the same job finished first; this run's writes are rolled back."""


class _SideConnection:
    """A second database connection, in autocommit, for the "written so far" count.

    The contacts are written in one transaction, so a count written through the import's
    own connection would stay invisible to the page until the very end. This connection
    commits each count at once; the page labels it "written, saved together at the end",
    never "imported", and a rollback turns the job into "failed: nothing was imported".
    """

    def __init__(self):
        self.conn = None
        self.ready = False
        # Inside an outer transaction (an eager task in a request, a test) the job row may be
        # uncommitted or locked by our own connection: a second connection would wait on us.
        if not connection.in_atomic_block:
            self.conn = connections.create_connection(DEFAULT_DB_ALIAS)

    def execute(self, sql, params):
        if self.conn is None:
            return
        try:
            with self.conn.cursor() as cursor:
                if not self.ready:
                    # Never wait on a lock for a progress count (belt and braces, see above).
                    cursor.execute("SET lock_timeout = '1s'")
                    self.ready = True
                cursor.execute(sql, params)
        except DatabaseError:
            # Progress is a courtesy: losing it must never fail the import.
            logger.warning("could not record import progress", exc_info=True)

    def close(self):
        if self.conn is not None:
            self.conn.close()
