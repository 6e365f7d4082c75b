"""Operations that write engagement data. Views, the API, jobs and tasks call these;
nothing else writes Campaign, Send, SendJob, EngagementEvent, PortalEmailSettings or ApiKey
rows. One module per thing written:

- ``campaigns``: creating a campaign and its field rules
- ``sending``: creating Sends (now, from the API, or as a send job)
- ``delivery``: emailing Sends
- ``events``: recording engagement events and their effect on contacts
- ``webhooks``: the bounce webhook and its secret
- ``api_keys``: portal API keys
- ``validation``: checks of values shared by all of them

Callers use ``from engagement import services`` and the names below. Services never
enqueue tasks: ``engagement.jobs`` starts background work.
"""

from .api_keys import API_KEY_PREFIX, apikey_authenticate, apikey_create, apikey_revoke
from .campaigns import campaign_create, campaign_validate
from .delivery import DELIVERY_TRANSIENT, send_email_build, sends_deliver
from .events import (
    EVENT_TYPES,
    MAX_BATCH,
    MAX_TEXT_REPLY,
    IngestResult,
    contact_mark,
    event_record,
    event_record_by_token,
    events_ingest,
    send_unsubscribe,
)
from .sending import (
    DELIVERY_CHUNK,
    SEND_JOB_CHUNK,
    SendResult,
    recipients_sends_create,
    send_job_create,
    send_job_run,
    sends_create,
)
from .validation import (
    EARLIEST,
    FUTURE_TOLERANCE,
    MAX_URL,
    parse_timestamp,
    storable,
    unstorable,
    url_problem,
)
from .webhooks import (
    WebhookRejected,
    bounce_secret_rotate,
    bounce_signature,
    bounce_webhook_receive,
    portal_email_settings_get,
)

__all__ = [
    "API_KEY_PREFIX",
    "DELIVERY_CHUNK",
    "DELIVERY_TRANSIENT",
    "EARLIEST",
    "EVENT_TYPES",
    "FUTURE_TOLERANCE",
    "MAX_BATCH",
    "MAX_TEXT_REPLY",
    "MAX_URL",
    "SEND_JOB_CHUNK",
    "IngestResult",
    "SendResult",
    "WebhookRejected",
    "apikey_authenticate",
    "apikey_create",
    "apikey_revoke",
    "bounce_secret_rotate",
    "bounce_signature",
    "bounce_webhook_receive",
    "campaign_create",
    "campaign_validate",
    "contact_mark",
    "event_record",
    "event_record_by_token",
    "events_ingest",
    "parse_timestamp",
    "portal_email_settings_get",
    "recipients_sends_create",
    "send_email_build",
    "send_job_create",
    "send_job_run",
    "send_unsubscribe",
    "sends_create",
    "sends_deliver",
    "storable",
    "unstorable",
    "url_problem",
]
