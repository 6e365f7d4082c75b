"""Salesforce record IDs: format, 15→18 conversion, checksum, key prefix, case repair.

Pure functions with no Django imports, so the sync engine, the import, the forms and the
simulator's tests can all share the one definition of a valid Donor ID.

Rules (docs/design.md "Contacts and Donor IDs", docs/salesforce-behaviour.md §4):

1. An ID is 15 or 18 ASCII letters and digits. All-digit values (the guide's ``1004422``)
   are never Salesforce IDs.
2. The 15-character ID is case-sensitive. The 18-character form appends a 3-character
   suffix that encodes which of the first 15 characters are upper-case, so a spreadsheet
   that changed the case of an 18-character ID breaks its checksum. Because the suffix
   records the case of every letter, such an ID can be repaired exactly.
3. The first three characters are the key prefix: ``003`` is a Contact (used for the exact
   match), ``00Q`` a Lead; anything else (``001`` Account, ...) cannot be matched.

The guide says IDs "always start with a letter (e.g. 003...)"; its own example starts with a
digit, and real key prefixes often do. We follow the prefix rule above.
"""

from __future__ import annotations

from dataclasses import dataclass

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

CONTACT_PREFIX = "003"
LEAD_PREFIX = "00Q"
MATCHABLE_OBJECTS = {CONTACT_PREFIX: "Contact", LEAD_PREFIX: "Lead"}

# Standard key prefixes staff are likely to paste by mistake, named in the error message.
# https://help.salesforce.com/s/articleView?id=000385203 (Standard Field Record ID Prefix Decoder)
KNOWN_PREFIXES = {
    "001": "Account",
    "005": "User",
    "006": "Opportunity",
    "00D": "Organization",
    "00T": "Task",
    "00U": "Event",
    "500": "Case",
    "701": "Campaign",
}

REASONS = ("length", "characters", "numeric", "prefix", "checksum")


@dataclass(frozen=True)
class IdCheck:
    """The verdict on one Donor ID.

    ``ok`` is true only for a well-formed 15/18-character ID (checksum right, if 18) whose
    prefix is a Contact or Lead. A blank value gives ``ok=False, reason=None``: callers treat
    it as "no Donor ID", which is not an error. ``repaired`` is offered only when it would
    itself pass.
    """

    value: str
    ok: bool
    id18: str | None
    object: str | None
    reason: str | None
    message: str
    repaired: str | None = None

    @property
    def is_blank(self) -> bool:
        return self.value == ""


def _is_alnum(value: str) -> bool:
    return bool(value) and all(ch in _ALNUM for ch in value)


def checksum_suffix(id15: str) -> str:
    """The 3-character case checksum of a 15-character ID (reference §4)."""
    if len(id15) != 15 or not _is_alnum(id15):
        raise ValueError(f"Not a 15-character Salesforce ID: {id15!r}")
    out = []
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        out.append(_SUFFIX_ALPHABET[bits])
    return "".join(out)


def has_valid_checksum(id18: str) -> bool:
    """True if ``id18`` is 18 letters/digits whose suffix matches the case of the first 15."""
    if len(id18) != 18 or not _is_alnum(id18):
        return False
    return checksum_suffix(id18[:15]) == id18[15:]


def to_18(value: str) -> str:
    """The 18-character form of a 15- or 18-character ID.

    Raises ValueError when the value is not a well-formed ID: wrong length, characters other
    than letters and digits, all digits, or an 18-character ID whose checksum is wrong (its
    case can no longer be trusted; see ``repair_case``).
    """
    if not _is_alnum(value) or value.isdigit() or len(value) not in (15, 18):
        raise ValueError(f"Not a Salesforce ID: {value!r}")
    if len(value) == 15:
        return value + checksum_suffix(value)
    if not has_valid_checksum(value):
        raise ValueError(f"Salesforce ID checksum does not match: {value!r}")
    return value


def object_for(value: str) -> str | None:
    """``"Contact"`` for a 003 ID, ``"Lead"`` for a 00Q ID, else None (prefix is case-sensitive)."""
    return MATCHABLE_OBJECTS.get(value[:3]) if len(value) >= 3 else None


def repair_case(id18: str) -> str | None:
    """Restore the case of an 18-character ID from its checksum, or None if impossible.

    The suffix (read case-insensitively, since the spreadsheet may have changed it too) says
    for each of the first 15 characters whether it is upper-case. A bit set on a digit means
    the suffix is not a checksum of this ID, so nothing can be repaired.
    """
    if len(id18) != 18 or not _is_alnum(id18):
        return None
    suffix = id18[15:].upper()
    if any(ch not in _SUFFIX_ALPHABET for ch in suffix):
        return None
    out = []
    for chunk in range(3):
        bits = _SUFFIX_ALPHABET.index(suffix[chunk])
        for k, ch in enumerate(id18[chunk * 5 : chunk * 5 + 5]):
            upper = bool(bits >> k & 1)
            if ch.isdigit():
                if upper:
                    return None
                out.append(ch)
            else:
                out.append(ch.upper() if upper else ch.lower())
    return "".join(out) + suffix


def _prefix_message(prefix: str) -> str:
    name = KNOWN_PREFIXES.get(prefix)
    if name:
        article = "an" if name[0] in "AEIOU" else "a"
        return f"Starts with {prefix}, which is {article} {name} ID, not a Contact ID (003…)."
    if prefix.upper() in MATCHABLE_OBJECTS or prefix.upper() in KNOWN_PREFIXES:
        return (
            f"Starts with {prefix}; Salesforce IDs are case-sensitive, so this is not a Contact ID "
            "(003…) or Lead ID (00Q…). Copy the ID from Salesforce again."
        )
    return f"Starts with {prefix}, which is not a Contact ID (003…) or Lead ID (00Q…)."


def check(value: str | None) -> IdCheck:
    """Validate a Donor ID as staff typed or imported it (surrounding spaces ignored)."""
    value = (value or "").strip()
    if not value:
        return IdCheck(value="", ok=False, id18=None, object=None, reason=None, message="No Donor ID.")

    def bad(reason: str, message: str, repaired: str | None = None) -> IdCheck:
        return IdCheck(value, False, None, None, reason, message, repaired)

    if value.isdigit():
        return bad(
            "numeric",
            f"Numeric-only IDs like {value} are not Salesforce IDs. Use the 15- or 18-character "
            "Contact ID from Salesforce (it starts with 003).",
        )
    if not _is_alnum(value):
        odd = sorted({ch for ch in value if ch not in _ALNUM})
        shown = " ".join("space" if ch == " " else ch for ch in odd)
        return bad("characters", f"Salesforce IDs contain only letters and digits; this one contains {shown}.")
    if len(value) not in (15, 18):
        return bad("length", f"Salesforce IDs are 15 or 18 characters long; this one has {len(value)}.")
    if len(value) == 18 and not has_valid_checksum(value):
        repaired = repair_case(value)
        if repaired and object_for(repaired):
            return bad(
                "checksum",
                "The last 3 characters don't match the ID's capitalisation; it may have been "
                f"changed by a spreadsheet. Did you mean {repaired}?",
                repaired,
            )
        return bad(
            "checksum",
            "The last 3 characters don't match the ID's capitalisation, and the ID can't be "
            "repaired. Copy the ID from Salesforce again.",
        )
    obj = object_for(value)
    if obj is None:
        return bad("prefix", _prefix_message(value[:3]))
    return IdCheck(
        value=value,
        ok=True,
        id18=to_18(value),
        object=obj,
        reason=None,
        message=f"Valid Salesforce {obj} ID.",
    )
