import csv
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from contacts.models import Contact
from tests.contacts.factories import make_contact

IMPORT_URL = reverse("contacts:import", args=["alpha"])
EXPORT_URL = reverse("contacts:export", args=["alpha"])


def upload(client, content: bytes, name="contacts.csv"):
    """Upload through the page; the import task runs (eagerly) after commit, and the
    response is the progress page it redirects to, or the form when the file is refused."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(IMPORT_URL, {"file": SimpleUploadedFile(name, content, content_type="text/csv")})
    if response.status_code == 302:
        assert response["Location"].startswith("/alpha/contacts/imports/")
        response = client.get(response["Location"])
    return response


def stored(portal):
    return {c.email_normalized: c for c in Contact.objects.filter(portal=portal)}


GOOD = (
    "Email,First Name,Last Name,Donor ID\n"
    "jane@example.org,Jane,Smith,003RO0000035WQgYAM\n"
    "bob@example.org,Bob,Jones,1004422\n"
)


def test_import_page_creates_contacts_and_reports(client_staff_a, portal_a):
    response = upload(client_staff_a, GOOD.encode())
    assert response.status_code == 200
    body = response.content.decode()
    assert "Import finished: imported 2, updated 0, rejected 0 of 2 rows." in body
    assert "Donor ID 1004422 imported but flagged invalid" in body
    contacts = stored(portal_a)
    assert contacts["jane@example.org"].donor_id_status == "contact"
    assert contacts["bob@example.org"].donor_id_status == "invalid"


@pytest.mark.parametrize(
    "encode",
    [
        lambda s: s.encode(),
        lambda s: ("\ufeff" + s).encode(),  # Excel's "CSV UTF-8"
        lambda s: s.replace("\n", "\r\n").encode(),
        lambda s: ("\ufeff" + s.replace("\n", "\r")).encode(),  # old Mac line endings
    ],
    ids=["plain", "bom", "crlf", "bom-cr"],
)
def test_import_accepts_bom_and_any_line_ending(client_staff_a, portal_a, encode):
    text = "E-mail,first_name,SURNAME,Salesforce ID\nZoe@example.org,Zoë,Müller,003RO0000035WQg\nx@example.org,X,,\n"
    response = upload(client_staff_a, encode(text))
    assert "imported 2, updated 0, rejected 0" in response.content.decode()
    zoe = stored(portal_a)["zoe@example.org"]
    assert (zoe.first_name, zoe.last_name, zoe.donor_id, zoe.donor_id_status) == ("Zoë", "Müller", "003RO0000035WQg", "contact")


@pytest.mark.parametrize(
    "header",
    ["Email,First Name,Last Name,Donor ID", "email,first_name,last_name,donor_id", "Email Address;Given Name;Surname;Donor_ID",
     "E-Mail\tFirst\tLast\tSalesforce Contact ID"],
)
def test_import_header_variants(client_staff_a, portal_a, header):
    sep = ";" if ";" in header else "\t" if "\t" in header else ","
    row = sep.join(["ann@example.org", "Ann", "Lee", "00QRO0000035WQg"])
    assert "imported 1," in upload(client_staff_a, f"{header}\n{row}\n".encode()).content.decode()
    ann = stored(portal_a)["ann@example.org"]
    assert (ann.first_name, ann.last_name, ann.donor_id_status) == ("Ann", "Lee", "lead")


def test_full_name_column_is_split(client_staff_a, portal_a):
    upload(client_staff_a, b"Name,Email\nMary Ann Evans,mae@example.org\n")
    c = stored(portal_a)["mae@example.org"]
    assert (c.first_name, c.last_name) == ("Mary Ann", "Evans")


def test_bad_rows_are_reported_by_line_and_good_rows_kept(client_staff_a, portal_a):
    make_contact(portal_a, email="known@example.org", first_name="Old")
    text = (
        "Email,First Name,Donor ID\n"  # line 1
        "good@example.org,Good,\n"  # 2
        "not-an-email,Bad,\n"  # 3
        "\n"  # 4 blank lines are skipped
        '"multi@example.org","Multi\nLine",\n'  # 5-6: a quoted newline
        "GOOD@example.org,Again,\n"  # 7 duplicate of line 2
        ",NoEmail,\n"  # 8
        "known@example.org,New,SF-1\n"  # 9 updated; Donor ID flagged
    )
    response = upload(client_staff_a, text.encode())
    body = response.content.decode()
    assert "imported 2, updated 1, rejected 3 of 6 rows" in body
    assert "<td class=\"num\">3</td><td>not-an-email</td><td>“not-an-email” is not a valid email address.</td>" in body
    assert "Duplicate email in file: GOOD@example.org already appears on line 2." in body
    assert "<td class=\"num\">8</td>" in body and "Email is missing." in body
    assert "<td class=\"num\">9</td>" in body and "Donor ID SF-1 imported but flagged invalid" in body
    contacts = stored(portal_a)
    assert set(contacts) == {"good@example.org", "multi@example.org", "known@example.org"}
    assert contacts["good@example.org"].first_name == "Good"
    assert contacts["multi@example.org"].first_name == "Multi Line"  # a name is one line
    assert (contacts["known@example.org"].first_name, contacts["known@example.org"].donor_id_status) == ("New", "invalid")


def test_oversize_file_is_refused_with_a_clear_message(client_staff_a, portal_a, settings):
    settings.CONTACT_IMPORT_MAX_BYTES = 100
    response = upload(client_staff_a, (GOOD * 5).encode())
    assert response.status_code == 400
    body = response.content.decode()
    assert "the largest file we import is 100\xa0bytes" in body
    assert "Split it into smaller files" in body
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    "content, message",
    [
        (GOOD.encode() + "carol@example.org,Carol,Día,\n".encode("latin-1"), "The file is not UTF-8 text (unreadable byte 0xed on line 4)"),
        (b"Name,Phone\nJane,555\n", "No email column found."),
        (b"Email,E-mail\na@x.org,b@x.org\n", "Two columns mean the same thing"),
        (b"   \n", "The file is empty."),
    ],
    ids=["not-utf8", "no-email-column", "ambiguous-columns", "empty"],
)
def test_fatal_file_errors_write_nothing(client_staff_a, portal_a, content, message):
    response = upload(client_staff_a, content)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Contact.objects.exists()


def test_import_is_one_transaction(portal_a, monkeypatch):
    """A crash while writing (here: the database refusing a later batch) leaves nothing behind."""
    from django.db import DatabaseError

    from contacts import services

    real = Contact.objects.bulk_create
    calls = []

    def failing_bulk_create(objs, **kwargs):
        calls.append(len(objs))
        if len(calls) == 2:
            raise DatabaseError("disk full")
        return real(objs, **kwargs)

    monkeypatch.setattr(Contact.objects, "bulk_create", failing_bulk_create)
    rows = "".join(f"p{i}@example.org,P{i}\n" for i in range(1500))
    with pytest.raises(DatabaseError):
        services.contact_import_csv(portal=portal_a, data=("Email,First Name\n" + rows).encode())
    assert calls == [1000, 500]
    assert not Contact.objects.exists()


def test_import_command(portal_a, tmp_path, capsys):
    path = tmp_path / "c.csv"
    path.write_bytes(("\ufeffEmail,First Name,Donor ID\r\nann@example.org,Ann,1004422\r\nnope,No,\r\n").encode())
    call_command("import_contacts", "alpha", str(path))
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "imported 1, updated 0, rejected 1 of 2 rows"
    assert "line 3: rejected: “nope” is not a valid email address." in out
    assert any(line.startswith("line 2: Donor ID 1004422 imported but flagged invalid") for line in out)
    call_command("import_contacts", "alpha", str(path))
    assert capsys.readouterr().out.startswith("imported 0, updated 0, unchanged 1, rejected 1 of 2 rows")
    assert Contact.objects.filter(portal=portal_a).count() == 1


def test_import_command_refuses_oversize_and_bad_files(portal_a, tmp_path, settings):
    settings.CONTACT_IMPORT_MAX_BYTES = 10
    path = tmp_path / "c.csv"
    path.write_bytes(GOOD.encode())
    with pytest.raises(CommandError, match="largest file we import is 10"):
        call_command("import_contacts", "alpha", str(path))
    settings.CONTACT_IMPORT_MAX_BYTES = 10_000
    with pytest.raises(CommandError, match="No portal with slug"):
        call_command("import_contacts", "nope", str(path))
    with pytest.raises(CommandError, match="Can't read"):
        call_command("import_contacts", "alpha", str(tmp_path / "missing.csv"))
    path.write_bytes(b"Phone\n1\n")
    with pytest.raises(CommandError, match="No email column"):
        call_command("import_contacts", "alpha", str(path))
    assert not Contact.objects.exists()


def read_export(response):
    content = b"".join(response.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff")
    return list(csv.reader(io.StringIO(content[1:])))


def test_export_neutralises_formulas(client_staff_a, portal_a):
    make_contact(portal_a, email="evil@x.org", first_name="=HYPERLINK(\"http://evil\")", last_name="+1+2", donor_id="@SUM(A1)")
    make_contact(portal_a, email="tab@x.org", first_name="-3", last_name="\tcmd")
    make_contact(portal_a, email="fine@x.org", first_name="Ann", last_name="O'Neil", donor_id="003RO0000035WQgYAM")
    response = client_staff_a.get(EXPORT_URL)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="alpha-contacts.csv"' in response["Content-Disposition"]
    rows = read_export(response)
    assert rows[0] == ["Email", "First Name", "Last Name", "Donor ID", "Donor ID status", "Unsubscribed at", "Bounced at"]
    by_email = {r[0]: r for r in rows[1:]}
    assert by_email["evil@x.org"][1:4] == ["'=HYPERLINK(\"http://evil\")", "'+1+2", "'@SUM(A1)"]
    assert by_email["evil@x.org"][4] == "Invalid Donor ID"
    assert by_email["tab@x.org"][1] == "'-3"
    assert by_email["fine@x.org"][1:5] == ["Ann", "O'Neil", "003RO0000035WQgYAM", "Salesforce Contact ID"]


def test_export_follows_the_filter_and_round_trips_through_import(client_staff_a, portal_a, portal_b):
    make_contact(portal_a, email="bad@x.org", first_name="Bad", donor_id="1004422")
    make_contact(portal_a, email="good@x.org", donor_id="003RO0000035WQg")
    make_contact(portal_b, email="other@x.org", donor_id="1004422")
    rows = read_export(client_staff_a.get(EXPORT_URL + "?filter=invalid"))
    assert [r[0] for r in rows[1:]] == ["bad@x.org"]
    all_rows = b"".join(client_staff_a.get(EXPORT_URL).streaming_content)
    Contact.objects.filter(portal=portal_a).delete()
    assert "imported 2, updated 0, rejected 0" in upload(client_staff_a, all_rows).content.decode()
    assert stored(portal_a)["bad@x.org"].first_name == "Bad"
