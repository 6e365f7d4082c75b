"""Reading and writing contacts CSV files, as people really make them.

Reading accepts UTF-8 with or without a byte-order mark (Excel's "CSV UTF-8" adds one), any
line ending (CRLF, LF, old-Mac CR), comma, semicolon or tab separators, and header names as
people write them ("Donor ID", "donor_id", "Salesforce ID", "E-mail", "First Name", ...).
Each row keeps the line number it starts on, so errors point at the line a person sees in
their editor (line 1 is the header).

Writing neutralises spreadsheet formulas: a cell that starts with ``= + - @`` (or a tab or
carriage return, which some spreadsheets skip before evaluating) gets a leading apostrophe.
https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

# Header spellings, compared after lower-casing and dropping everything but letters/digits.
HEADER_ALIASES = {
    "email": {"email", "emailaddress", "mail", "primaryemail", "emailaddr"},
    "first_name": {"firstname", "first", "givenname", "forename", "fname"},
    "last_name": {"lastname", "last", "surname", "familyname", "lname"},
    "donor_id": {
        "donorid", "salesforceid", "salesforcecontactid", "sfid", "sfdcid", "contactid",
        "salesforcedonorid", "donoridsalesforce",
    },
    "full_name": {"name", "fullname", "contactname"},
}
_ALIAS_TO_FIELD = {alias: name for name, aliases in HEADER_ALIASES.items() for alias in aliases}

EXPORT_HEADER = ["Email", "First Name", "Last Name", "Donor ID", "Donor ID status", "Unsubscribed at", "Bounced at"]
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class CsvError(Exception):
    """The file cannot be read as a contacts CSV; the message is shown to staff."""


@dataclass
class ParsedCsv:
    rows: list[dict]
    ignored_columns: list[str]


def _header_key(text):
    return re.sub(r"[^a-z0-9]", "", text.strip().lower())


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise CsvError(
            f"The file is not UTF-8 text (unreadable byte 0x{data[e.start]:02x} on line {line}). "
            "In Excel choose File → Save As → “CSV UTF-8 (Comma delimited)”, then import again."
        ) from e


def _dialect(first_line: str):
    for delimiter in (",", ";", "\t"):
        if delimiter in first_line:
            return delimiter
    return ","


def check_header(data: bytes) -> list[str]:
    """Refuse (CsvError) a file that is not UTF-8 text or has no usable header line.

    Cheap enough to run in the upload request, so such a file is refused on the form
    before any background work starts; returns the ignored column titles.
    """
    return _open(data)[2]


def _open(data: bytes):
    """``(reader positioned after the header, {field: column index}, ignored titles)``."""
    text = _decode(data)
    if not text.strip():
        raise CsvError("The file is empty.")
    first_line = text.lstrip("\r\n").splitlines()[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_dialect(first_line))
    try:
        header = next(reader)
        while not any(cell.strip() for cell in header):  # blank lines before the header
            header = next(reader)
    except StopIteration:
        raise CsvError("The file is empty.") from None
    except csv.Error as e:
        raise CsvError(f"Line 1 can't be read as CSV: {e}.") from e

    columns = {}  # field -> column index
    ignored = []
    for index, title in enumerate(header):
        name = _ALIAS_TO_FIELD.get(_header_key(title))
        if name is None:
            if title.strip():
                ignored.append(title.strip())
            continue
        if name in columns:
            raise CsvError(
                f"Two columns mean the same thing: “{header[columns[name]].strip()}” and “{title.strip()}”. "
                "Keep one of them."
            )
        columns[name] = index
    if "email" not in columns:
        raise CsvError(
            "No email column found. The first line must name the columns, for example: "
            "Email, First Name, Last Name, Donor ID."
        )
    return reader, columns, ignored


def read_contacts_csv(data: bytes) -> ParsedCsv:
    """Rows as dicts (``email``, ``first_name``, ``last_name``, ``donor_id``, ``line``)."""
    reader, columns, ignored = _open(data)
    rows = []
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise CsvError(f"Line {line} can't be read as CSV: {e}.") from e
        start, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        row = {"line": start}
        for name, index in columns.items():
            row[name] = cells[index] if index < len(cells) else ""
        full_name = row.pop("full_name", "").strip()
        if full_name and not (row.get("first_name", "").strip() or row.get("last_name", "").strip()):
            first, _, last = full_name.rpartition(" ")
            row["first_name"], row["last_name"] = (first, last) if first else (last, "")
        rows.append(row)
    return ParsedCsv(rows=rows, ignored_columns=ignored)


def safe_cell(value) -> str:
    """A cell a spreadsheet will show as text, never evaluate."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


class _Echo:
    def write(self, value):
        return value


def iter_export_lines(contacts):
    """CSV lines (with a UTF-8 BOM first, so Excel reads accents right) for streaming."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(EXPORT_HEADER)
    for c in contacts:
        yield writer.writerow(
            [
                safe_cell(c.email),
                safe_cell(c.first_name),
                safe_cell(c.last_name),
                safe_cell(c.donor_id),
                c.get_donor_id_status_display() if c.donor_id else "",
                c.unsubscribed_at.isoformat() if c.unsubscribed_at else "",
                c.bounced_at.isoformat() if c.bounced_at else "",
            ]
        )
