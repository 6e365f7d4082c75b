"""The one JSON body parser of the product: the REST API, the bounce webhook and the
recipient endpoints all read their bodies through ``parse``.

It bounds the body's size and its nesting depth *before* handing it to ``json.loads``:
Python's decoder recurses once per level, so a few kilobytes of ``[[[[...`` would otherwise
end in a ``RecursionError`` (a server error) instead of a clear 400.
"""

import json
import re

DEFAULT_MAX_BYTES = 2 * 1024 * 1024
# Our bodies are at most three levels deep ({"events": [{...}]}); 32 leaves room for
# clients that wrap them, and is far below the decoder's recursion limit.
DEFAULT_MAX_DEPTH = 32

# A JSON string, written as an unrolled loop so that a failed match never backtracks.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class BadJsonBody(ValueError):
    """The body is not JSON we accept; ``status`` is 400 or 413 and the message says why."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status
        self.message = message


def depth_exceeds(body, max_depth):
    """True when ``body`` nests arrays or objects more than ``max_depth`` levels deep.

    Brackets inside strings do not count. Each pass removes the innermost pairs, so the
    number of passes is the depth; malformed bracketing stops early and is left to the
    decoder to report.
    """
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    for _ in range(max_depth):
        if not brackets:
            return False
        reduced = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if reduced == brackets:
            return False
        brackets = reduced
    return bool(brackets)


def parse(body, *, max_bytes=DEFAULT_MAX_BYTES, max_depth=DEFAULT_MAX_DEPTH):
    """The decoded JSON value of ``body`` (bytes), or ``BadJsonBody`` saying what is wrong."""
    if len(body) > max_bytes:
        raise BadJsonBody(f"The body is larger than {max_bytes:,} bytes.", status=413)
    if not body.strip():
        raise BadJsonBody("The body is empty; send JSON.")
    if depth_exceeds(body, max_depth):
        raise BadJsonBody(f"The JSON is nested more than {max_depth} levels deep.")
    try:
        return json.loads(body)
    except RecursionError:  # malformed bracketing that the depth check left to the decoder
        raise BadJsonBody(f"The JSON is nested more than {max_depth} levels deep.") from None
    except UnicodeDecodeError:
        raise BadJsonBody("The body is not UTF-8 text.") from None
    except ValueError as e:
        where = f" (line {e.lineno}, column {e.colno})" if isinstance(e, json.JSONDecodeError) else ""
        raise BadJsonBody(f"The body is not valid JSON{where}.") from None
