"""The REST API's request and response schemas: the OpenAPI document at
``/api/v1/openapi.json`` is generated from these and is the contract.

Every rule the API enforces on a body is written here so that the schema says it: lengths
(``maxLength``), batch sizes (``maxItems``), http(s) links (``format: uri`` and a pattern),
text the database cannot store (a pattern that excludes NUL), and for events the
``text_reply``/``video_reply`` requirements and the ``occurred_at`` range. The statuses
every operation can answer, with their error bodies, are listed by ``responses``.
"""

from datetime import UTC, datetime
from typing import Any

from ninja import Field, Schema
from pydantic import field_validator

from thankview.text import VISIBLE_PATTERN, one_line

from . import services
from .models import EventType
from .services.campaigns import URL_MAX_LENGTH

MAX_ID = 2**63 - 1
# No NUL: PostgreSQL text cannot hold it (names are cleaned instead, see thankview.text).
NO_NUL = r"^[^\x00]*$"
# An ISO 8601 date-time with a timezone (Z or ±hh:mm) in the years 2000-2999; the API also
# refuses one more than 5 minutes in the future (the schema cannot say "now").
DATE_TIME = r"^2[0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|z|[+-][0-9]{2}:[0-9]{2})$"


def _aware(value):
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError("must include a timezone, e.g. 2025-03-01T12:00:00Z")
    if value is not None and value < services.EARLIEST:
        raise ValueError("must be in the year 2000 or later")
    if value is None:
        return None
    # Stored in UTC: PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 allows.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None


def _http_url(value):
    if value is not None:
        problem = services.url_problem(value)
        if problem:
            raise ValueError("must be a web address starting with http:// or https://")
    return value


def _visible(value):
    if value is not None and not one_line(value):
        raise ValueError("must contain visible text")
    return value


def _no_default(schema):
    schema.pop("default", None)


class CampaignIn(Schema):
    # Both CTA fields, or neither.
    model_config = {**Schema.model_config, "json_schema_extra": {"anyOf": [
        {"required": ["cta_label", "cta_url"]},
        {"not": {"anyOf": [{"required": ["cta_label"]}, {"required": ["cta_url"]}]}},
    ]}}

    name: str = Field(..., min_length=1, max_length=200, json_schema_extra={"pattern": VISIBLE_PATTERN},
                      description="Shown to recipients; line breaks and control characters are removed.")
    # The schema says 255 (Salesforce's URL field); a longer link is refused by the campaign
    # service, whose message says why, so the model itself only caps the size.
    video_url: str = Field(..., max_length=services.MAX_URL, json_schema_extra={"format": "uri", "maxLength": URL_MAX_LENGTH},
                           description="An http(s) link to a video file browsers can play.")
    cta_label: str = Field(None, min_length=1, max_length=80, json_schema_extra=lambda s: (_no_default(s), s.update(pattern=VISIBLE_PATTERN)),
                           description="The call-to-action button's label; give it with cta_url.")
    cta_url: str = Field(None, max_length=services.MAX_URL,
                         json_schema_extra=lambda s: (_no_default(s), s.update(format="uri", maxLength=URL_MAX_LENGTH)),
                         description="The http(s) link the button opens; give it with cta_label.")

    _urls = field_validator("video_url", "cta_url")(_http_url)
    _texts = field_validator("name", "cta_label")(_visible)


class CampaignOut(Schema):
    id: int
    name: str
    video_url: str
    cta_label: str
    cta_url: str
    created_at: datetime


class RecipientIn(Schema):
    email: str = Field(..., min_length=1, max_length=254, pattern=NO_NUL)
    donor_id: str | None = Field(None, max_length=64, pattern=NO_NUL)
    first_name: str | None = Field(None, max_length=150, description="Line breaks and control characters are removed.")
    last_name: str | None = Field(None, max_length=150, description="Line breaks and control characters are removed.")

    @field_validator("email", "donor_id")
    @classmethod
    def _no_nul(cls, value):
        if services.unstorable(value):
            raise ValueError("contains characters that cannot be stored (e.g. NUL)")
        return value


class SendsIn(Schema):
    recipients: list[RecipientIn] = Field(..., min_length=1, max_length=services.MAX_BATCH)
    sent_at: datetime = Field(None, json_schema_extra=lambda s: (_no_default(s), s.update(pattern=DATE_TIME)),
                              description="When it was sent, with a timezone, in 2000 or later. Default: now.")

    @field_validator("sent_at")
    @classmethod
    def _sent_at_aware(cls, value):
        return _aware(value)


class SendCreated(Schema):
    id: int
    email: str
    contact_id: int
    landing_url: str


class RecipientSkipped(Schema):
    index: int | None
    email: str
    reason: str


class SendsOut(Schema):
    created: int
    sends: list[SendCreated]
    skipped: list[RecipientSkipped]


_EVENT_ITEM = {
    "type": "object",
    "required": ["send_id", "type"],
    "properties": {
        "send_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID, "description": "A send of this key's portal."},
        "type": {"type": "string", "enum": sorted(EventType.values)},
        "occurred_at": {
            "type": ["string", "null"], "format": "date-time", "pattern": DATE_TIME, "maxLength": 40,
            "description": "When it happened, with a timezone; from 2000-01-01 to 5 minutes from now. Default: now.",
        },
        "text": {"type": ["string", "null"], "minLength": 1, "maxLength": services.MAX_TEXT_REPLY, "pattern": r"^[^\x00]*[^\s\x00][^\x00]*$",
                 "description": "The reply; required (not blank) for text_reply."},
        "url": {"type": ["string", "null"], "format": "uri", "maxLength": services.MAX_URL,
                "description": "The video link; required for video_reply."},
    },
    "allOf": [
        {"if": {"properties": {"type": {"const": "text_reply"}}},
         "then": {"required": ["text"], "properties": {"text": {"type": "string"}}}},
        {"if": {"properties": {"type": {"const": "video_reply"}}},
         "then": {"required": ["url"], "properties": {"url": {"type": "string"}}}},
    ],
}

# The events body is parsed by hand (see api.post_events); this is its documented shape.
EVENT_BATCH_SCHEMA = {
    "type": "object",
    "required": ["events"],
    "properties": {"events": {"type": "array", "maxItems": services.MAX_BATCH, "items": _EVENT_ITEM}},
}


class EventError(Schema):
    index: int | None
    reason: str


class EventBatchOut(Schema):
    stored: int
    errors: list[EventError]


class SendStateOut(Schema):
    opened: bool
    clicked: bool
    started_watching: bool
    finished_watching: bool
    cta_clicked: bool
    downloaded: bool
    shared: bool
    bounced: bool
    unsubscribed: bool
    views: int
    text_reply: str | None
    text_reply_255: str | None
    video_reply: str | None
    last_activity_at: datetime | None


class DeliveryOut(Schema):
    status: str = Field(..., description="emailed, failed (will not be retried) or pending")
    emailed_at: datetime | None
    failed_at: datetime | None
    error: str = Field("", description="Why the email could not be delivered, when it failed.")


class SendOut(Schema):
    id: int
    campaign_id: int
    campaign_name: str
    contact_id: int
    email: str
    donor_id: str
    sent_at: datetime
    landing_url: str
    delivery: DeliveryOut
    state: SendStateOut
    salesforce: Any = Field(None, description="The send's Salesforce sync status: status, label, record_id, match, last_synced_cutoff, error.")


class ErrorOut(Schema):
    detail: Any = Field(..., description="What is wrong: a message, or the field errors.")


# What any authenticated operation can answer besides its own statuses.
COMMON_ERRORS = {401: ErrorOut, 429: ErrorOut}
# ... and any operation that reads a JSON body: not JSON or nested too deep (400), too large (413).
BODY_ERRORS = {400: ErrorOut, 413: ErrorOut, 422: ErrorOut}
