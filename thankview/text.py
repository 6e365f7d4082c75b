"""Normalising one-line text that ends up in headers and short labels (names, subjects,
campaign names) before it is stored.

A line break in a name would make the email's Subject header invalid (Django refuses it
with ``BadHeaderError``, so the recipient would silently never be emailed); control
characters (ESC sequences) and bidi overrides (U+202E) can make a name display as
something else. Such text is cleaned when it is stored, not refused.
"""

import re

# Line and paragraph breaks of any kind, and tabs, become one space.
_BREAKS = re.compile("[\r\n\t\v\f\x1c-\x1f\x85\u2028\u2029]+")
# Removed: C0/C1 controls (NUL and ESC included), lone surrogates (unstorable), and the bidi
# embedding, override, isolate and mark characters (Unicode TR9, "Explicit Directional ...").
_REMOVED = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ud800-\udfff\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def one_line(value):
    """``value`` as a single line of displayable text: breaks become spaces, control and
    bidi-override characters are removed, and the ends are trimmed. ``None`` stays ``None``."""
    if value is None:
        return None
    return _REMOVED.sub("", _BREAKS.sub(" ", str(value))).strip()


# A JSON Schema (ECMA-262) pattern met by text that keeps something after ``one_line``: at
# least one character that is neither whitespace nor removed.
VISIBLE_PATTERN = "[^\\s\\x00-\\x1f\\x7f-\\x9f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]"
