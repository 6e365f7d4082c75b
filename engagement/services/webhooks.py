"""The mail provider's signed bounce webhook, and the portal's webhook secret."""

import hashlib
import hmac
import re
import secrets

from .. import jsonbody
from ..models import EventType, PortalEmailSettings, new_webhook_secret
from ..selectors import send_by_token
from .events import event_record
from .validation import parse_timestamp, storable


class WebhookRejected(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


# The token is read from the raw body by this bounded, non-recursive pattern, so that the
# signature is checked before anything is decoded: an unsigned body is never parsed.
_TOKEN_FIELD = re.compile(rb'"token"\s*:\s*"([A-Za-z0-9_-]{1,64})"')


def bounce_webhook_receive(*, body, signature, max_bytes=jsonbody.DEFAULT_MAX_BYTES):
    """Record a bounce reported by the mail provider.

    The body is JSON ``{"token": "<send token>", "occurred_at"?: "...", "reason"?: "..."}``
    signed with HMAC-SHA256 over the raw body using the portal's bounce webhook secret,
    sent as ``X-ThankView-Signature: sha256=<hex>``. An unknown token and a wrong signature
    get the same 401, computed in the same way, so the answer never tells whether a send
    exists. The signature is verified on the raw bytes before the JSON is parsed.
    """
    if len(body) > max_bytes:
        raise WebhookRejected(413, f"The body is larger than {max_bytes:,} bytes.")
    found = _TOKEN_FIELD.search(body)
    if found is None:
        raise WebhookRejected(400, "The body must be a JSON object with a \"token\".")
    token = found.group(1).decode()
    send = send_by_token(token)
    secret = None
    if send is not None:
        secret = (
            PortalEmailSettings.objects.filter(portal_id=send.campaign.portal_id)
            .values_list("bounce_webhook_secret", flat=True)
            .first()
        )
    # Compare against a throwaway secret when there is none, so timing does not tell.
    expected = hmac.new((secret or secrets.token_hex(32)).encode(), body, hashlib.sha256).hexdigest()
    given = (signature or "").strip()
    given = given.removeprefix("sha256=")
    if not hmac.compare_digest(expected, given) or secret is None:
        raise WebhookRejected(401, "Invalid signature.")
    try:
        payload = jsonbody.parse(body, max_bytes=max_bytes)
    except jsonbody.BadJsonBody as e:
        raise WebhookRejected(e.status, e.message) from None
    if not isinstance(payload, dict) or payload.get("token") != token:
        raise WebhookRejected(400, "The body must be a JSON object with a \"token\".")
    return _bounce_record(send, payload)


def _bounce_record(send, payload):
    occurred_at = None
    if payload.get("occurred_at") is not None:
        occurred_at = parse_timestamp(payload["occurred_at"])
        if isinstance(occurred_at, str):
            raise WebhookRejected(400, occurred_at)
    data = {}
    if isinstance(payload.get("reason"), str):
        data["reason"] = storable(payload["reason"])[:500]
    return event_record(send=send, type=EventType.BOUNCED, occurred_at=occurred_at, data=data)


def portal_email_settings_get(*, portal):
    settings_row, _ = PortalEmailSettings.objects.get_or_create(portal=portal)
    return settings_row


def bounce_secret_rotate(*, portal):
    row = portal_email_settings_get(portal=portal)
    row.bounce_webhook_secret = new_webhook_secret()
    row.save(update_fields=["bounce_webhook_secret", "updated_at"])
    return row


def bounce_signature(*, secret, body):
    """The signature header value for ``body`` (used by tests, docs and mail-provider glue)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()

