"""Checks of values shared by every write path: text the database can store, http(s)
links, and the timestamps clients send."""

import re
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

MAX_URL = 500
# A client clock may run a little fast; anything further ahead is a bad date, not a skew.
FUTURE_TOLERANCE = timedelta(minutes=5)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)

http_url_validator = URLValidator(schemes=["http", "https"])
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
    return parsed


def url_problem(url):
    """None when ``url`` is an acceptable http(s) link, else the reason."""
    if not isinstance(url, str) or not url.strip():
        return "video_reply needs a \"url\"."
    if len(url) > MAX_URL:
        return f"url is longer than {MAX_URL} characters."
    if unstorable(url):
        return "url contains characters that cannot be stored (e.g. NUL)."
    try:
        http_url_validator(url.strip())
    except ValidationError:
        return "url must be a web address starting with http:// or https://."
    return None

