"""REST API v1 (django-ninja), mounted at ``/api/v1/``; schema at ``/api/v1/openapi.json``,
docs at ``/api/v1/docs``.

Every request carries ``Authorization: Bearer <portal API key>``; the key's portal scopes
every read and write, so a key of one portal never reaches another portal's data (a
campaign or send of another portal is a 404, exactly like one that does not exist).
"""

from datetime import datetime
from typing import Any

from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import Http404
from ninja import Field, NinjaAPI, Path, Schema, Status
from ninja.errors import HttpError
from ninja.parser import Parser
from ninja.security import HttpBearer
from pydantic import field_validator

from contacts.models import normalize_email

from . import extensions, jobs, jsonbody, services
from .models import Campaign, EventType, Send
from .selectors import send_states

MAX_ID = 2**63 - 1


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request, token):
        key = services.apikey_authenticate(token)
        if key is not None:
            request.portal = key.portal
        return key


class JsonBodyParser(Parser):
    """Request bodies go through the product's one JSON parser (size and depth bounded)."""

    def parse_body(self, request):
        return jsonbody.parse(request.body)


api = NinjaAPI(
    parser=JsonBodyParser(),
    title="ThankView API",
    version="1",
    description=(
        "Create campaigns and sends, post engagement events, read a send's engagement state. "
        "Authenticate with `Authorization: Bearer <key>`; portal admins create keys on the "
        "portal's API keys page."
    ),
    auth=ApiKeyAuth(),
    urls_namespace="api_v1",
)


@api.exception_handler(RequestDataTooBig)
def _too_big(request, exc):
    return api.create_response(request, {"detail": "The request body is too large."}, status=413)


@api.exception_handler(HttpError)
def _http_error(request, exc):
    # django-ninja wraps any parser failure as "Cannot parse request body"; say what was wrong.
    cause = exc.__cause__
    if isinstance(cause, jsonbody.BadJsonBody):
        return api.create_response(request, {"detail": cause.message}, status=cause.status)
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


@api.exception_handler(ValidationError)
def _django_validation(request, exc):
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return api.create_response(request, {"detail": detail}, status=422)


# --- Schemas -----------------------------------------------------------------------------


def _aware(value):
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError("must include a timezone, e.g. 2025-03-01T12:00:00Z")
    if value is not None and value < services.EARLIEST:
        raise ValueError("must be in the year 2000 or later")
    return value


class CampaignIn(Schema):
    name: str = Field(..., min_length=1, max_length=200)
    video_url: str = Field(..., min_length=1, max_length=500)
    cta_label: str = Field("", max_length=80)
    cta_url: str = Field("", max_length=500)


class CampaignOut(Schema):
    id: int
    name: str
    video_url: str
    cta_label: str
    cta_url: str
    created_at: datetime


class RecipientIn(Schema):
    email: str = Field(..., min_length=1, max_length=254)
    donor_id: str | None = Field(None, max_length=64)
    first_name: str | None = Field(None, max_length=150)
    last_name: str | None = Field(None, max_length=150)

    @field_validator("email", "donor_id", "first_name", "last_name")
    @classmethod
    def _no_nul(cls, value):
        if services.unstorable(value):
            raise ValueError("contains characters that cannot be stored (e.g. NUL)")
        return value


class SendsIn(Schema):
    recipients: list[RecipientIn] = Field(..., min_length=1, max_length=services.MAX_BATCH)
    sent_at: datetime | None = None

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


# The events body is parsed by hand (see post_events); this is its documented shape.
EVENT_BATCH_SCHEMA = {
    "type": "object",
    "required": ["events"],
    "properties": {
        "events": {
            "type": "array",
            "maxItems": services.MAX_BATCH,
            "items": {
                "type": "object",
                "required": ["send_id", "type"],
                "properties": {
                    "send_id": {"type": "integer", "minimum": 1},
                    "type": {"type": "string", "enum": list(EventType.values)},
                    "occurred_at": {"type": "string", "format": "date-time"},
                    "text": {"type": "string", "description": "The reply, for text_reply."},
                    "url": {"type": "string", "format": "uri", "description": "The video link, for video_reply."},
                },
            },
        }
    },
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
    detail: Any


# --- Endpoints ---------------------------------------------------------------------------


@api.post("/campaigns", response={201: CampaignOut, 422: ErrorOut}, summary="Create a campaign")
def create_campaign(request, payload: CampaignIn):
    campaign = services.campaign_create(portal=request.portal, **payload.dict())
    return Status(201, campaign)


@api.post(
    "/campaigns/{campaign_id}/sends",
    response={201: SendsOut, 404: ErrorOut, 422: ErrorOut},
    summary="Send a campaign to recipients (contacts upserted by email)",
)
def create_sends(request, payload: SendsIn, campaign_id: int = Path(..., ge=1, le=MAX_ID)):
    campaign = Campaign.objects.filter(portal=request.portal, pk=campaign_id).first()
    if campaign is None:
        raise Http404
    recipients = [r.dict() for r in payload.recipients]
    result, imported, contacts = jobs.recipients_upsert_and_send(
        campaign=campaign, recipients=recipients, sent_at=payload.sent_at
    )
    sends_by_contact = {s.contact_id: s for s in result.sends}
    created, skipped = [], []
    for problem in imported.errors:
        skipped.append({"index": problem.line - 1, "email": problem.email, "reason": problem.message})
    index_of = {}
    for index, recipient in enumerate(recipients):
        index_of.setdefault(normalize_email(recipient["email"]), index)
    for norm, contact in contacts.items():
        send = sends_by_contact.get(contact.pk)
        if send is None:
            reason = "Unsubscribed: not emailed again." if contact.unsubscribed_at else "The address bounced before."
            skipped.append({"index": index_of.get(norm), "email": contact.email, "reason": reason})
        else:
            created.append(
                {"id": send.pk, "email": contact.email, "contact_id": contact.pk, "landing_url": send.landing_url}
            )
    return Status(201, {"created": result.created, "sends": created, "skipped": skipped})


@api.post(
    "/events",
    response={200: EventBatchOut, 400: ErrorOut, 413: ErrorOut, 422: EventBatchOut},
    summary="Post a batch of engagement events (good items kept, bad ones reported by index)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": EVENT_BATCH_SCHEMA}},
        }
    },
)
def post_events(request):
    # Parsed by hand, not by a pydantic body: one bad item must not reject the batch, and
    # validating 1,000 items ourselves is several times faster (see benchmarks/ingest.py).
    try:
        payload = jsonbody.parse(request.body)
    except jsonbody.BadJsonBody as e:
        raise HttpError(e.status, e.message) from None
    items = payload.get("events") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        raise HttpError(400, "The body must be {\"events\": [...]} (or a JSON array of events).")
    if len(items) > services.MAX_BATCH:
        raise HttpError(413, f"A batch holds at most {services.MAX_BATCH} events; got {len(items)}.")
    result = services.events_ingest(portal=request.portal, items=items)
    status = 422 if result.errors and not result.stored else 200
    return Status(status, {"stored": result.stored, "errors": result.errors})


@api.get("/sends/{send_id}", response={200: SendOut, 404: ErrorOut}, summary="A send's engagement state")
def get_send(request, send_id: int = Path(..., ge=1, le=MAX_ID)):
    send = (
        Send.objects.select_related("campaign", "contact")
        .filter(campaign__portal=request.portal, pk=send_id)
        .first()
    )
    if send is None:
        raise Http404
    state = send_states([send.pk])[send.pk]
    return Status(200, {
        "id": send.pk,
        "campaign_id": send.campaign_id,
        "campaign_name": send.campaign.name,
        "contact_id": send.contact_id,
        "email": send.contact.email,
        "donor_id": send.contact.donor_id,
        "sent_at": send.sent_at,
        "landing_url": send.landing_url,
        "delivery": {
            "status": "emailed" if send.emailed_at else "failed" if send.email_failed_at else "pending",
            "emailed_at": send.emailed_at,
            "failed_at": send.email_failed_at,
            "error": send.email_error,
        },
        "state": state.as_dict(),
        # Filled by the Salesforce integration's status provider (engagement.extensions);
        # null when none is registered.
        "salesforce": extensions.send_status(send, key="salesforce"),
    })
