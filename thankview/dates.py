"""One date format for every page: the portal's time zone on the page, exact UTC on hover.

``portal_view`` activates the portal's time zone (``Portal.time_zone``, default UTC) for the
request, so ``local_text`` and the ``when`` template filter (``thankview.templatetags.dates``,
a template builtin) read it from ``django.utils.timezone``. Plain text (an SVG ``<title>``, a
chart label) uses ``local_text``; HTML uses ``when``, which wraps the text in
``<time datetime="…" title="… UTC">`` so hovering shows the exact UTC time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.utils import timezone
from django.utils.dateformat import format as django_format
from django.utils.dateparse import parse_date, parse_datetime

DATETIME = "j M Y, H:i T"  # 6 Dec 2026, 15:36 UTC
DATE = "j M Y"  # 6 Dec 2026
FORMATS = {"datetime": DATETIME, "date": DATE}


def as_datetime(value) -> datetime | date | None:
    """A datetime (aware, UTC when it had no zone) or a date from a value or an ISO string."""
    if isinstance(value, str):
        value = parse_datetime(value) or parse_date(value)
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return value
    return None


def local_text(value, style: str = "datetime") -> str:
    """``value`` in the active time zone as "6 Dec 2026, 15:36 UTC" (or "6 Dec 2026")."""
    value = as_datetime(value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value)
    return django_format(value, FORMATS.get(style, DATETIME))


def utc_text(value) -> str:
    """The exact UTC time, "2026-12-06 15:36:05 UTC" (a date stays a date)."""
    value = as_datetime(value)
    if isinstance(value, datetime):
        return f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    return value.isoformat() if value else ""


def machine_text(value) -> str:
    """The ``datetime`` attribute of a ``<time>``: ISO 8601 in UTC."""
    value = as_datetime(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return value.isoformat() if value else ""
