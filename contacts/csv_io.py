"""Reading and writing contacts CSV files, as people really make them.

Reading accepts UTF-8 with or without a byte-order mark (Excel's "CSV UTF-8" adds one), any
line ending (CRLF, LF, old-Mac CR), comma, semicolon or tab separators, and header names as
people write them ("Donor ID", "donor_id", "Salesforce ID", "E-mail", "First Name", ...).
Each row keeps the line number it starts on, so errors point at the line a person sees in
their editor (line 1 is the header).

Every data row is accounted for: a row is either read or reported by line. A row whose
field count differs from the header's is reported, never merged with its neighbour. A
quote that is never closed would swallow the rest of the file into one field, so the reader
stops there ("unclosed quote starting at line 10, column 16") and reports that line and
every line after it as not read.

Writing neutralises spreadsheet formulas: a cell that starts with ``= + - @`` (or a tab or
carriage return, which some spreadsheets skip before evaluating) gets a leading apostrophe.
The start is judged after leading whitespace and zero-width characters are skipped and the
text is NFKC-normalised, because spreadsheets also evaluate ``\u200b=1+1`` and the
fullwidth ``＝1+1``. https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
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
# Skipped before judging a cell's first character: whitespace (str.isspace) and the
# zero-width and invisible characters that str.isspace does not cover.
_LEADING_BLANKS = re.compile("[\\s\u200b\u200c\u200d\u2060\ufeff\u180e\u00ad]*")


class CsvError(Exception):
    """The file cannot be read as a contacts CSV; the message is shown to staff."""


@dataclass
class ParsedCsv:
    # Read rows, and rows that could not be read: those carry ``problem`` (the reason) and
    # are rejected by the importer with their line, so the counts always add up.
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


def _open(data: bytes, *, with_text=False):
    """``(reader positioned after the header, {field: column index}, ignored titles)``, and
    with ``with_text`` also the decoded text and the header's field count."""
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
    if with_text:
        return reader, columns, ignored, text, len(header)
    return reader, columns, ignored


def read_contacts_csv(data: bytes) -> ParsedCsv:
    """Rows as dicts (``email``, ``first_name``, ``last_name``, ``donor_id``, ``line``);
    a row that cannot be read has ``line``, ``email`` (best guess) and ``problem``."""
    reader, columns, ignored, text, width = _open(data, with_text=True)
    lines = None  # the physical lines, split only when a row spans several
    rows = []
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            if not _runs_off_the_end(text, line):
                raise CsvError(f"Line {line} can't be read as CSV: {e}.") from e
            rows.extend(_unread_rows(text, line, columns))  # e.g. a field past csv's size limit
            break
        start, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        if line - start > 1:
            lines = lines or io.StringIO(text, newline="").readlines()
            if _swallowed(cells, lines[start:line - 1], columns, width, text=text, start=start, at_end=line > len(lines)):
                rows.extend(_unread_rows(text, start, columns))
                break
        if len(cells) > width and not any(cell.strip() for cell in cells[width:]):
            cells = cells[:width]  # trailing empty cells (a trailing delimiter) are harmless
        if len(cells) != width:
            rows.append(_problem_row(start, cells, columns, (
                f"Line {start} has {len(cells)} fields but the header has {width}; "
                "check for a missing or extra separator (or an unquoted comma in a name)."
            )))
            continue
        rows.append(_row(start, cells, columns))
    return ParsedCsv(rows=rows, ignored_columns=ignored)


def _row(line, cells, columns):
    row = {"line": line}
    for name, index in columns.items():
        row[name] = cells[index] if index < len(cells) else ""
    full_name = row.pop("full_name", "").strip()
    if full_name and not (row.get("first_name", "").strip() or row.get("last_name", "").strip()):
        first, _, last = full_name.rpartition(" ")
        row["first_name"], row["last_name"] = (first, last) if first else (last, "")
    return row


def _problem_row(line, cells, columns, problem):
    index = columns["email"]
    email = cells[index].strip() if index < len(cells) else ""
    return {"line": line, "email": email[:254] if "\n" not in email else "", "problem": problem}


def _runs_off_the_end(text, start):
    """True when the row starting at line ``start`` is still inside a quote at the end of
    the file (the strict reader says "unexpected end of data")."""
    rest = "".join(io.StringIO(text, newline="").readlines()[start - 1:])
    try:
        list(csv.reader(io.StringIO(rest, newline=""), delimiter=_dialect(text.lstrip("\r\n").splitlines()[0]), strict=True))
    except csv.Error:
        return True
    return False


def _swallowed(cells, continuation, columns, width, *, text, start, at_end):
    """True when a row spanning several lines is really an unclosed quote: it runs off the
    end of the file, its field count is wrong, or one of the lines it swallowed reads as a
    row of its own (an email and the header's field count). A quoted line break inside a
    field (a two-line note or name) is kept."""
    if len(cells) != width or (at_end and _runs_off_the_end(text, start)):
        return True
    delimiter = _dialect(text.lstrip("\r\n").splitlines()[0])
    index = columns["email"]
    for physical in continuation:
        parts = physical.rstrip("\r\n").split(delimiter)
        if len(parts) >= width and "@" in parts[index]:
            return True
    return False


def _unread_rows(text, start, columns):
    """The line with the unclosed quote and each non-blank line after it, reported."""
    lines = io.StringIO(text, newline="").readlines()
    column = _open_quote_column(lines[start - 1]) if start <= len(lines) else 1
    delimiter = _dialect(text.lstrip("\r\n").splitlines()[0])
    where = f"unclosed quote starting at line {start}, column {column}"
    out = [{
        "line": start,
        "email": _naive_email(lines[start - 1], delimiter, columns),
        "problem": f"The file has an {where}, so this line and the rest of the file were not read. "
        "Close the quote (or remove it) and import the file again.",
    }]
    for number in range(start + 1, len(lines) + 1):
        physical = lines[number - 1]
        if physical.strip():
            out.append({
                "line": number,
                "email": _naive_email(physical, delimiter, columns),
                "problem": f"Not read: it follows the {where}.",
            })
    return out


def _open_quote_column(physical):
    """The 1-based column of the quote still open at the end of ``physical``."""
    opened, at_field_start, index = None, True, 0
    while index < len(physical):
        char = physical[index]
        if opened is None:
            if char == '"' and at_field_start:
                opened = index
            at_field_start = char in ",;\t"
        elif char == '"':
            if physical[index + 1:index + 2] == '"':
                index += 1
            else:
                opened, at_field_start = None, False
        index += 1
    return (opened if opened is not None else 0) + 1


def _naive_email(physical, delimiter, columns):
    cells = physical.rstrip("\r\n").split(delimiter)
    index = columns["email"]
    value = cells[index].strip().strip('"') if index < len(cells) else ""
    return value if "@" in value and len(value) <= 254 else ""


def safe_cell(value) -> str:
    """A cell a spreadsheet will show as text, never evaluate."""
    text = "" if value is None else str(value)
    return "'" + text if _looks_like_formula(text) else text


def _looks_like_formula(text):
    if text.startswith(_FORMULA_STARTS):
        return True
    probe = unicodedata.normalize("NFKC", text)
    return probe[_LEADING_BLANKS.match(probe).end():].startswith(_FORMULA_STARTS)


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
