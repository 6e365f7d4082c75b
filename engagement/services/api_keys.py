"""Portal API keys: shown once when created, stored hashed, revocable."""

import hmac
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from ..models import ApiKey
from .validation import unstorable

API_KEY_PREFIX = "tvk"


def apikey_create(*, portal, name, created_by=None):
    """Create a key; returns ``(ApiKey, raw_key)``. The raw key is never stored."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["Give the key a name, e.g. “Donor CRM export”."]})
    if len(name) > 100:
        raise ValidationError({"name": ["Keep the name under 100 characters."]})
    if unstorable(name):
        raise ValidationError({"name": ["The name contains characters that cannot be stored."]})
    prefix = secrets.token_hex(4)
    raw = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        portal=portal, name=name, prefix=prefix, hashed_key=ApiKey.hash(raw), created_by=created_by
    )
    return key, raw


def apikey_revoke(*, apikey):
    if apikey.revoked_at is None:
        apikey.revoked_at = timezone.now()
        apikey.save(update_fields=["revoked_at"])
    return apikey


def apikey_authenticate(raw):
    """The active ApiKey for ``raw`` (with its portal), or None."""
    if not isinstance(raw, str) or len(raw) > 200:
        return None
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
        return None
    key = ApiKey.objects.select_related("portal").filter(prefix=parts[1], revoked_at__isnull=True).first()
    if key is None or not hmac.compare_digest(key.hashed_key, ApiKey.hash(raw.strip())):
        return None
    now = timezone.now()
    # Record use at most once a minute: a write per request would slow batch ingestion.
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
