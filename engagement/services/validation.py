"""Checks of values shared by every write path: text the database can store, http(s)
links, and the timestamps clients send."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

MAX_URL = 500
# A client clock may run a little fast; anything further ahead is a bad date, not a skew.
FUTURE_TOLERANCE = timedelta(minutes=5)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)

# Characters RFC 3986 never allows in a URI (percent-encoding stands for them).
_NOT_IN_URI = re.compile(r"[\x00-\x20\x7f-\U0010ffff\"<>\\^`{|}]")
# Text PostgreSQL cannot store: NUL, and lone UTF-16 surrogates (JSON "\\ud800" decodes to one).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(value):
    """True when ``value`` holds characters the database cannot store."""
    return isinstance(value, str) and _UNSTORABLE.search(value) is not None


def storable(value):
    """``value`` without the characters the database cannot store."""
    return _UNSTORABLE.sub("", value)


def parse_timestamp(value):
    """An aware datetime from ISO 8601 text, or a reason string."""
    if not isinstance(value, str) or len(value) > 40:
        return "occurred_at must be an ISO 8601 date-time with a timezone, e.g. 2025-03-01T12:00:00Z."
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return "occurred_at must be an ISO 8601 date-time with a timezone, e.g. 2025-03-01T12:00:00Z."
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return "occurred_at needs a timezone (e.g. a trailing Z for UTC)."
    if parsed < EARLIEST:
        return "occurred_at is before the year 2000."
    # In UTC: PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 allows.
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00:00-05:00 is past the last date
        return "occurred_at is out of range."


def url_problem(url):
    """None when ``url`` is an acceptable http(s) link, else the reason.

    The rule is the API schema's ``format: uri`` (RFC 3986) narrowed to http and https with
    a host: the same check for every write path (API, campaign form, replies), so that what
    the schema promises is what is accepted.
    """
    if not isinstance(url, str) or not url.strip():
        return "video_reply needs a \"url\"."
    if len(url) > MAX_URL:
        return f"url is longer than {MAX_URL} characters."
    if unstorable(url):
        return "url contains characters that cannot be stored (e.g. NUL)."
    if not _is_http_url(url.strip()):
        return "url must be a web address starting with http:// or https://."
    return None


def _is_http_url(url):
    if _NOT_IN_URI.search(url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
