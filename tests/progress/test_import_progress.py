"""Contacts import in the background: the upload is stored and queued, the progress page
and its JSON say honestly how far it got, and the import stays all-or-nothing."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.urls import reverse

from contacts import services
from contacts.models import Contact, ContactImport
from contacts.tasks import import_contacts
from tests.contacts.factories import make_contact

IMPORT_URL = reverse("contacts:import", args=["alpha"])

CSV = (
    "Email,First Name,Donor ID\n"
    "ann@example.org,Ann,003RO0000035WQgYAM\n"
    "known@example.org,Newname,\n"
    "not-an-email,Bad,\n"
    "bob@example.org,Bob,1004422\n"
)


def detail_url(job, slug="alpha"):
    return reverse("contacts:import_detail", args=[slug, job.pk])


def status_url(job, slug="alpha"):
    return reverse("contacts:import_status", args=[slug, job.pk])


def post_file(client, content, name="donors.csv"):
    return client.post(IMPORT_URL, {"file": SimpleUploadedFile(name, content, content_type="text/csv")})


def make_job(portal, **fields):
    """A job row in a given state, as a worker would have left it mid-way."""
    job = ContactImport(portal=portal, filename="big.csv", **fields)
    job.file.save("upload.csv", ContentFile(b"Email\n"), save=False)
    job.save()
    return job


def test_upload_is_stored_and_queued_then_the_task_imports_it(
    client_staff_a, portal_a, staff_a, django_capture_on_commit_callbacks
):
    make_contact(portal_a, email="known@example.org", first_name="Old")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_file(client_staff_a, CSV.encode())
    job = ContactImport.objects.get()
    assert response.status_code == 302 and response["Location"] == detail_url(job)
    # Nothing imported in the request: the job waits for a worker, with the file in storage.
    assert (job.status, job.filename, job.created_by, job.size) == ("queued", "donors.csv", staff_a, len(CSV))
    assert job.file.name.startswith(f"contact-imports/{portal_a.pk}/")
    assert default_storage.open(job.file.name).read() == CSV.encode()
    assert Contact.objects.filter(portal=portal_a).count() == 1
    assert len(callbacks) == 1  # the task is queued after commit, with the job's id only

    page = client_staff_a.get(detail_url(job)).content.decode()
    assert "Waiting for a worker to start the import…" in page
    assert "<progress id=\"import-progress\"" in page and "Refresh</a>" in page
    assert client_staff_a.get(status_url(job)).json()["status"] == "queued"

    stored_name = job.file.name
    callbacks[0]()  # the worker runs (eagerly)
    job.refresh_from_db()
    assert (job.status, job.total_rows, job.processed_rows) == ("done", 4, 4)
    assert (job.created, job.updated, job.rejected, job.flagged) == (2, 1, 1, 1)
    assert job.errors == [{"line": 4, "email": "not-an-email", "message": "“not-an-email” is not a valid email address."}]
    assert job.started_at and job.finished_at
    assert not job.file and not default_storage.exists(stored_name)  # personal data not kept
    assert Contact.objects.get(email_normalized="known@example.org").first_name == "Newname"

    data = client_staff_a.get(status_url(job)).json()
    assert data["finished"] is True and data["status"] == "done"
    assert data["label"] == "Import finished: imported 2, updated 1, rejected 1 of 4 rows."
    assert data["fields"]["created"] == 2 and data["fields"]["rejected"] == 1
    assert "<td class=\"num\">4</td><td>not-an-email</td>" in data["html"]
    assert "Donor ID 1004422 imported but flagged invalid" in data["html"]
    page = client_staff_a.get(detail_url(job)).content.decode()
    assert "Import finished: imported 2, updated 1, rejected 1 of 4 rows." in page and "not-an-email" in page
    assert "<progress" not in page and "Refresh</a>" not in page


def test_a_file_refused_as_a_whole_is_reported_on_the_form_and_nothing_is_queued(
    client_staff_a, portal_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_file(client_staff_a, b"Name,Phone\nJane,555\n")
    assert response.status_code == 400 and "No email column found." in response.content.decode()
    assert callbacks == [] and not ContactImport.objects.exists()


def test_status_while_checking_counts_rows_checked_not_saved(client_staff_a, portal_a):
    job = make_job(portal_a, status="checking", total_rows=2000, processed_rows=500)
    data = client_staff_a.get(status_url(job)).json()
    assert data["status"] == "checking" and data["finished"] is False
    assert data["bars"] == {"rows": {"value": 500, "max": 2000}}
    assert data["label"] == "Checked 500 of 2,000 rows. Nothing is saved until every row is checked."
    assert "html" not in data
    response = client_staff_a.get(status_url(job))
    assert "no-cache" in response["Cache-Control"]
    page = client_staff_a.get(detail_url(job)).content.decode()
    assert 'data-progress-bar="rows" data-progress-while-running aria-labelledby="import-progress-label" value="500" max="2000"' in page
    assert 'role="status" aria-live="polite" data-progress-label>Checked 500 of 2,000 rows.' in page
    assert "static/js/progress.js" in page


def test_status_while_saving_claims_no_count(client_staff_a, portal_a):
    job = make_job(portal_a, status="saving", total_rows=2000, processed_rows=2000)
    data = client_staff_a.get(status_url(job)).json()
    assert data["bars"] == {"rows": None}  # indeterminate: uncommitted rows are never counted
    assert data["label"] == "All 2,000 rows checked. Saving the contacts in one step (all or nothing)…"
    page = client_staff_a.get(detail_url(job)).content.decode()
    assert 'aria-labelledby="import-progress-label"></progress>' in page  # no value: indeterminate


def test_failed_job_shows_why_and_that_nothing_was_imported(client_staff_a, portal_a):
    job = make_job(portal_a, status="failed", error="Line 7 can't be read as CSV: x. Nothing was imported.")
    data = client_staff_a.get(status_url(job)).json()
    assert data["finished"] is True and "Nothing was imported" in data["html"]


def test_another_portals_import_is_404(client_b, portal_a, portal_b):
    job = make_job(portal_a, status="checking", total_rows=10, processed_rows=5)
    for url in (detail_url(job), status_url(job), detail_url(job, "beta"), status_url(job, "beta")):
        assert client_b.get(url).status_code == 404, url


def test_recent_imports_are_listed_on_the_import_page(client_staff_a, portal_a, portal_b):
    mine = make_job(portal_a, status="done", created=3)
    theirs = make_job(portal_b, status="done")
    html = client_staff_a.get(IMPORT_URL).content.decode()
    assert detail_url(mine) in html and f"/imports/{theirs.pk}/" not in html
    assert "Imported 3, updated 0, rejected 0" in html


def test_progress_is_committed_while_checking_and_nothing_is_counted_before_the_save_commits(
    portal_a, monkeypatch
):
    """What another connection could see at each moment: rows checked move in steps of
    PROGRESS_EVERY; while the contacts are being written the job says "saving" and claims
    no created/updated count; the counts appear with the commit."""
    monkeypatch.setattr(services, "PROGRESS_EVERY", 2)
    rows = "".join(f"p{i}@example.org,P{i}\n" for i in range(5))
    job = make_job(portal_a)
    job.file.save("upload.csv", ContentFile(("Email,First Name\n" + rows).encode()))
    seen_checking = []
    real_update = type(ContactImport.objects.all()).update

    def spy_update(qs, **kwargs):
        if "processed_rows" in kwargs:
            seen_checking.append(kwargs["processed_rows"])
        return real_update(qs, **kwargs)

    seen_saving = []
    real_bulk_create = Contact.objects.bulk_create

    def observing_bulk_create(objs, **kwargs):
        seen_saving.append(ContactImport.objects.values_list("status", "processed_rows", "created").get(pk=job.pk))
        return real_bulk_create(objs, **kwargs)

    monkeypatch.setattr(type(ContactImport.objects.all()), "update", spy_update)
    monkeypatch.setattr(Contact.objects, "bulk_create", observing_bulk_create)
    services.contact_import_run(job=job)
    assert seen_checking == [0, 2, 4, 5]  # claim, every 2 rows, then all checked
    assert seen_saving == [("saving", 5, 0)]
    job.refresh_from_db()
    assert (job.status, job.created) == ("done", 5)


def test_a_failed_save_rolls_back_every_row_and_the_job_says_so(portal_a, monkeypatch):
    rows = "".join(f"p{i}@example.org,P{i}\n" for i in range(1500))
    job = make_job(portal_a)
    job.file.save("upload.csv", ContentFile(("Email,First Name\n" + rows).encode()))
    real = Contact.objects.bulk_create
    calls = []

    def failing_bulk_create(objs, **kwargs):
        calls.append(len(objs))
        if len(calls) == 2:
            raise DatabaseError("disk full")
        return real(objs, **kwargs)

    monkeypatch.setattr(Contact.objects, "bulk_create", failing_bulk_create)
    services.contact_import_run(job=job)
    job.refresh_from_db()
    assert calls == [1000, 500]
    assert not Contact.objects.exists()
    assert (job.status, job.created, job.updated) == ("failed", 0, 0)
    assert job.error == "The import stopped because of an internal error; please upload the file again. Nothing was imported."
    assert "disk full" not in job.error  # the raw database message is logged, not shown
    assert not job.file  # the personal data in the upload is not kept


def test_a_row_with_a_nul_character_is_rejected_not_fatal(portal_a):
    job = make_job(portal_a)
    job.file.save("upload.csv", ContentFile(b"Email,Name\na@x.org,A\nb@x.org\x00,B\nc@x.org,C\x00\n"))
    services.contact_import_run(job=job)
    job.refresh_from_db()
    assert (job.status, job.created, job.rejected, job.total_rows) == ("done", 2, 1, 3)
    assert job.errors == [{"line": 3, "email": "b@x.org", "message": "The row contains a NUL character, which cannot be stored."}]
    # A NUL in a name is removed, not fatal: names are normalised when stored.
    assert Contact.objects.get(email="c@x.org").first_name == "C"


def test_a_file_that_breaks_mid_way_is_reported_from_its_line(portal_a):
    job = make_job(portal_a)
    # An unterminated quote swallows the rest of the file into one over-long field.
    job.file.save("upload.csv", ContentFile(b"Email,Name\na@x.org,A\nb@x.org,\"" + b"x" * 140_000 + b"\n"))
    services.contact_import_run(job=job)
    job.refresh_from_db()
    assert (job.status, job.created, job.rejected, job.total_rows) == ("done", 1, 1, 2)
    assert job.errors[0]["line"] == 3
    assert job.errors[0]["message"].startswith("The file has an unclosed quote starting at line 3, column 9,")
    assert list(Contact.objects.values_list("email", flat=True)) == ["a@x.org"]


def test_a_missing_upload_fails_cleanly(portal_a):
    job = make_job(portal_a)
    default_storage.delete(job.file.name)
    assert import_contacts(job.pk) == "failed"
    job.refresh_from_db()
    assert job.error == "The uploaded file is no longer available. Please upload it again. Nothing was imported."


def test_running_twice_imports_once_and_a_dead_workers_job_starts_over(portal_a):
    job = make_job(portal_a)
    job.file.save("upload.csv", ContentFile(b"Email\na@x.org\nb@x.org\n"))
    ContactImport.objects.filter(pk=job.pk).update(status="saving", processed_rows=2, total_rows=2)  # worker died
    assert import_contacts(job.pk) == "done"
    job.refresh_from_db()
    assert (job.created, job.updated, job.unchanged) == (2, 0, 0)
    assert import_contacts(job.pk) == "done"  # redelivered: left alone
    job.refresh_from_db()
    assert (job.created, job.updated, job.unchanged) == (2, 0, 0)
    assert Contact.objects.count() == 2
    assert import_contacts(999999) is None  # a job deleted before a worker got to it


def test_row_problems_beyond_the_stored_limit_are_counted_exactly(client_staff_a, portal_a, monkeypatch):
    monkeypatch.setattr(ContactImport, "MAX_STORED_PROBLEMS", 2)
    job = make_job(portal_a)
    job.file.save("upload.csv", ContentFile(b"Email\nx1\nx2\nx3\nok@x.org\n"))
    services.contact_import_run(job=job)
    job.refresh_from_db()
    assert (job.rejected, len(job.errors), job.created) == (3, 2, 1)
    html = client_staff_a.get(detail_url(job)).content.decode()
    assert "3 rejected in all; the first 2 are listed." in html


@pytest.mark.parametrize("status", ["queued", "checking", "saving", "done", "failed"])
def test_every_state_renders(client_staff_a, portal_a, status):
    job = make_job(portal_a, status=status, total_rows=3, processed_rows=1, error="Boom.")
    assert client_staff_a.get(detail_url(job)).status_code == 200
    assert client_staff_a.get(status_url(job)).json()["status"] == status


@pytest.mark.django_db(transaction=True)
def test_while_saving_another_connection_sees_rows_written_but_not_the_contacts(portal_a, monkeypatch):
    """What the page's request (another connection) sees mid-save: the job "saving" with
    the count of rows written so far, and none of the contacts, which only appear (all
    together) at commit. If the save then fails, nothing was imported and the job says so."""
    from django.db import DEFAULT_DB_ALIAS, connections

    rows = "".join(f"p{i}@example.org,P{i}\n" for i in range(2500))
    job = make_job(portal_a)
    job.file.save("upload.csv", ContentFile(("Email,First Name\n" + rows).encode()))
    observer = connections.create_connection(DEFAULT_DB_ALIAS)
    seen = []
    real = Contact.objects.bulk_create

    def observing_bulk_create(objs, **kwargs):
        with observer.cursor() as cursor:
            cursor.execute(
                "SELECT status, saved_rows, save_total, created FROM contacts_contactimport WHERE id = %s", [job.pk]
            )
            job_row = cursor.fetchone()
            cursor.execute("SELECT count(*) FROM contacts_contact")
            seen.append((*job_row, cursor.fetchone()[0]))
        if len(seen) == 3:
            raise DatabaseError("disk full")
        return real(objs, **kwargs)

    monkeypatch.setattr(Contact.objects, "bulk_create", observing_bulk_create)
    try:
        services.contact_import_run(job=job)
    finally:
        observer.close()
    assert seen == [("saving", 0, 2500, 0, 0), ("saving", 1000, 2500, 0, 0), ("saving", 2000, 2500, 0, 0)]
    job.refresh_from_db()
    assert (job.status, job.created) == ("failed", 0) and not Contact.objects.exists()
    assert job.progress_label().startswith("Import failed: ") and job.progress_label().endswith("Nothing was imported.")


def test_saving_label_says_written_not_imported(client_staff_a, portal_a):
    job = make_job(portal_a, status="saving", total_rows=3000, processed_rows=3000, save_total=2900, saved_rows=1000)
    data = client_staff_a.get(status_url(job)).json()
    assert data["bars"] == {"rows": {"value": 1000, "max": 2900}}
    assert data["label"] == (
        "All 3,000 rows checked. Writing contacts: 1,000 of 2,900 written. "
        "They are saved together once all are written (all or nothing)."
    )


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_run_that_finishes_second_rolls_back(portal_a, monkeypatch):
    """Two deliveries of the same job racing: the one that reaches the final UPDATE second
    finds the job done and rolls its writes back, so the counts are those of one run."""
    job = make_job(portal_a)
    job.file.save("upload.csv", ContentFile(b"Email\na@x.org\nb@x.org\n"))
    real = services._contacts_write

    from django.db import DEFAULT_DB_ALIAS, connections

    other = connections.create_connection(DEFAULT_DB_ALIAS)

    def finish_the_other_run_first(**kwargs):
        with other.cursor() as cursor:  # the other delivery commits while this one is writing
            cursor.execute("UPDATE contacts_contactimport SET status = 'done', created = 2 WHERE id = %s", [job.pk])
        return real(**kwargs)

    monkeypatch.setattr(services, "_contacts_write", finish_the_other_run_first)
    try:
        services.contact_import_run(job=job)
    finally:
        other.close()
    job.refresh_from_db()
    assert (job.status, job.created) == ("done", 2)
    assert not Contact.objects.exists()  # this run's writes were rolled back (the "other" run wrote none here)
