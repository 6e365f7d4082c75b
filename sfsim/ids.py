"""Salesforce record ids (reference §4).

A record id is 15 case-sensitive base-62 characters: a 3-character key prefix that names the
object (``003`` Contact, ``00Q`` Lead, ``a0X`` a custom object...), then the rest. The API
always answers with the 18-character form: the 15 characters plus a 3-character suffix that
encodes which of them are upper-case letters, so the id survives case-insensitive systems.
Input may be either form (REST and SOQL).
"""

from __future__ import annotations

import secrets

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


_UPPER_BITS = str.maketrans({chr(c): ("1" if 65 <= c <= 90 else "0") for c in range(128)})


def checksum(id15: str) -> str:
    """The 3-character case suffix of a 15-character id (reference §4, verified on real ids).

    Each chunk of 5 characters gives one suffix character: bit i is set when character i of
    the chunk is an upper-case A-Z. (Written with ``str.translate``: it runs once per record
    written, 100,000 times for a large Bulk job.)
    """
    bits = id15.translate(_UPPER_BITS)
    return "".join(_SUFFIX_ALPHABET[int(bits[c * 5 : c * 5 + 5][::-1], 2)] for c in range(3))


def is_id_shape(value: object) -> bool:
    """15 or 18 ASCII letters and digits: what Salesforce will even try to read as an id."""
    return (
        isinstance(value, str)
        and len(value) in (15, 18)
        and value.isascii()
        and value.isalnum()
    )


def to18(value: str) -> str | None:
    """The canonical 18-character id for a 15- or 18-character input, or None if malformed.

    An 18-character input must carry the suffix that matches its first 15 characters (the
    suffix itself is compared case-insensitively); a case-mangled id is therefore rejected
    rather than silently matched to another record.
    """
    if not is_id_shape(value):
        return None
    id15 = value[:15]
    suffix = checksum(id15)
    if len(value) == 18 and value[15:].upper() != suffix:
        return None
    return id15 + suffix


def key_prefix(value: str) -> str:
    return value[:3]


def encode62(n: int, width: int) -> str:
    chars = []
    for _ in range(width):
        n, r = divmod(n, 62)
        chars.append(BASE62[r])
    if n:
        raise OverflowError("id counter overflow")
    return "".join(reversed(chars))


def random62(width: int) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(width))


class IdFactory:
    """Mints unique 18-character ids for one org.

    Layout of the 15 characters, after real ids such as ``003RO0000035WQgYAM``: key prefix
    (3), pod (2, random per org so two orgs never share ids; it starts with an upper-case
    letter, like ``RO``, so every id has a letter whose case matters), a reserved ``0``, then
    a 9-character base-62 counter per prefix.
    """

    def __init__(self, pod: str | None = None):
        self.pod = pod or secrets.choice(BASE62[10:36]) + random62(1)
        self._counters: dict[str, int] = {}

    def random(self, prefix: str) -> str:
        """An id with a random body (org and user ids: a new org never reuses one)."""
        id15 = f"{prefix}{self.pod}0{random62(9)}"
        return id15 + checksum(id15)

    def new(self, prefix: str) -> str:
        n = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = n
        id15 = f"{prefix}{self.pod}0{encode62(n, 9)}"
        return id15 + checksum(id15)
