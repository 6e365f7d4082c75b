"""Broken CSV quoting and wrong field counts: every data row of a file is accounted for
(imported + updated + unchanged + rejected = data rows), reported by line, never merged."""

import pytest
from django.core.management import call_command

from contacts import csv_io, services
from contacts.models import Contact, ContactImport
from tests.contacts.test_import_export import upload

HEADER = "Email,First Name,Last Name\n"


def _thousand_rows_with_an_unclosed_quote_on_row_10():
    rows = [f"uq{i}@x.example,First{i},Last{i}\n" for i in range(1000)]
    rows[9] = 'uq9@x.example,"Smith, Jr,Row\n'
    return (HEADER + "".join(rows)).encode()


def test_unclosed_quote_stops_at_its_line_and_every_row_is_accounted_for(portal_a):
    result = services.contact_import_csv(portal=portal_a, data=_thousand_rows_with_an_unclosed_quote_on_row_10())
    # Data rows 1-9 are lines 2-10; row 10 (line 11) opens a quote that never closes.
    assert (result.created, result.updated, result.unchanged, result.rejected, result.rows) == (9, 0, 0, 991, 1000)
    first = result.errors[0]
    assert first.line == 11 and first.email == "uq9@x.example"
    assert first.message.startswith("The file has an unclosed quote starting at line 11, column 15,")
    assert [p.line for p in result.errors] == list(range(11, 1002))
    assert result.errors[1].message == "Not read: it follows the unclosed quote starting at line 11, column 15."
    assert result.errors[1].email == "uq10@x.example"
    assert Contact.objects.filter(portal=portal_a).count() == 9
    assert result.summary() == "imported 9, updated 0, rejected 991 of 1000 rows"


def test_three_row_file_never_stores_the_next_row_in_a_name(portal_a):
    data = (HEADER + 'a@x.example,"Ann,Able\nb@x.example,Bob,Baker\nc@x.example,Cy,Cole\n').encode()
    result = services.contact_import_csv(portal=portal_a, data=data)
    assert (result.created, result.rejected, result.rows) == (0, 3, 3)
    assert "unclosed quote starting at line 2, column 13" in result.errors[0].message
    assert not Contact.objects.exists()


def test_a_quote_closed_later_in_the_file_still_counts_as_unclosed(portal_a):
    # The stray quote pairs with a quote three lines later; the name would hold two rows.
    data = (HEADER + 'a@x.example,"Ann,Able\nb@x.example,Bob,Baker\nc@x.example,"Cy",Cole\n').encode()
    result = services.contact_import_csv(portal=portal_a, data=data)
    assert (result.created, result.rejected, result.rows) == (0, 3, 3)
    assert result.errors[0].line == 2
    assert not Contact.objects.exists()


def test_wrong_field_counts_are_reported_by_line_and_never_merged(portal_a):
    data = (
        HEADER
        + "a@x.example,Ann,Able\n"
        + "b@x.example,Bob\n"  # one field short
        + "c@x.example,Smith, Jr,Cole\n"  # an unquoted comma: one field too many
        + "d@x.example,Dee,Dale,\n"  # a trailing separator is harmless
    ).encode()
    result = services.contact_import_csv(portal=portal_a, data=data)
    assert (result.created, result.rejected, result.rows) == (2, 2, 4)
    assert [(p.line, p.email, p.message) for p in result.errors] == [
        (3, "b@x.example", "Line 3 has 2 fields but the header has 3; check for a missing or extra separator (or an unquoted comma in a name)."),
        (4, "c@x.example", "Line 4 has 4 fields but the header has 3; check for a missing or extra separator (or an unquoted comma in a name)."),
    ]
    assert sorted(Contact.objects.values_list("email", flat=True)) == ["a@x.example", "d@x.example"]


def test_a_quoted_multi_line_note_in_an_ignored_column_is_still_read(portal_a):
    data = b'Email,First Name,Notes\na@x.example,Ann,"line one\nline two"\nb@x.example,Bob,"last\nrow"\n'
    result = services.contact_import_csv(portal=portal_a, data=data)
    assert (result.created, result.rejected, result.rows) == (2, 0, 2)
    assert Contact.objects.get(email="b@x.example").first_name == "Bob"


def test_unclosed_quote_column_counts_from_one():
    assert csv_io._open_quote_column('a@x,"Smith, Jr,Row\n') == 5
    assert csv_io._open_quote_column('"a@x\n') == 1
    assert csv_io._open_quote_column('a@x,"B ""q"" c",x,"open\n') == 19


def test_the_page_shows_every_row_accounted_for(client_staff_a, portal_a):
    response = upload(client_staff_a, _thousand_rows_with_an_unclosed_quote_on_row_10())
    body = response.content.decode()
    assert "Import finished: imported 9, updated 0, rejected 991 of 1000 rows." in body
    assert "unclosed quote starting at line 11, column 15" in body
    job = ContactImport.objects.get()
    assert (job.total_rows, job.created, job.updated, job.unchanged, job.rejected) == (1000, 9, 0, 0, 991)
    assert "<dt>Rows in the file</dt><dd>1,000</dd>" in body


def test_the_command_shows_the_totals(portal_a, tmp_path, capsys):
    path = tmp_path / "c.csv"
    path.write_bytes(_thousand_rows_with_an_unclosed_quote_on_row_10())
    call_command("import_contacts", "alpha", str(path))
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "imported 9, updated 0, rejected 991 of 1000 rows"
    assert out[1].startswith("line 11: rejected: The file has an unclosed quote starting at line 11, column 15,")
    assert out[2] == "line 12: rejected: Not read: it follows the unclosed quote starting at line 11, column 15."
    # Run again: nine rows now match stored contacts, and the counts still add up.
    call_command("import_contacts", "alpha", str(path))
    assert capsys.readouterr().out.splitlines()[0] == "imported 0, updated 0, unchanged 9, rejected 991 of 1000 rows"


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_line_numbers_hold_for_every_line_ending(portal_a, ending):
    data = ("Email,First Name" + ending + "a@x.example,Ann" + ending + 'b@x.example,"Bo' + ending + "c@x.example,Cy" + ending).encode()
    result = services.contact_import_csv(portal=portal_a, data=data)
    assert (result.created, result.rejected, result.rows) == (1, 2, 3)
    assert [p.line for p in result.errors] == [3, 4]
    assert result.errors[1].email == "c@x.example"
