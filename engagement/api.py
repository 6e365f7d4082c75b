"""REST API v1 (django-ninja), mounted at ``/api/v1/``; schema at ``/api/v1/openapi.json``,
docs at ``/api/v1/docs``.

Every request carries ``Authorization: Bearer <portal API key>``; the key's portal scopes
every read and write, so a key of one portal never reaches another portal's data (a
campaign or send of another portal is a 404, exactly like one that does not exist).
"""


from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import Http404
from ninja import NinjaAPI, Path, Status
from ninja.errors import HttpError
from ninja.parser import Parser
from ninja.security import HttpBearer

from contacts.models import normalize_email

from . import extensions, jobs, jsonbody, ratelimit, services
from .api_schemas import (
    BODY_ERRORS,
    COMMON_ERRORS,
    EVENT_BATCH_SCHEMA,
    MAX_ID,
    CampaignIn,
    CampaignOut,
    ErrorOut,
    EventBatchOut,
    SendOut,
    SendsIn,
    SendsOut,
)
from .models import Campaign, Send
from .selectors import send_states


class RateLimited(Exception):
    """The key spent its request budget for the current window (429 with Retry-After)."""


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request, token):
        key = services.apikey_authenticate(token)
        if key is not None:
            # Per key, counted after authentication so that a wrong key cannot spend a
            # customer's budget; API_RATE_LIMIT requests per API_RATE_WINDOW seconds.
            if not ratelimit.allow("api", key.pk, limit=settings.API_RATE_LIMIT, window=settings.API_RATE_WINDOW):
                raise RateLimited
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


@api.exception_handler(RateLimited)
def _rate_limited(request, exc):
    window = settings.API_RATE_WINDOW
    response = api.create_response(
        request,
        {"detail": f"Too many requests: this key may make {settings.API_RATE_LIMIT} requests every {window} seconds."},
        status=429,
    )
    response["Retry-After"] = str(ratelimit.retry_after(window))
    return response


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


# --- Endpoints ---------------------------------------------------------------------------


@api.post("/campaigns", response={201: CampaignOut, **BODY_ERRORS, **COMMON_ERRORS}, summary="Create a campaign")
def create_campaign(request, payload: CampaignIn):
    fields = {name: value or "" for name, value in payload.dict().items()}
    campaign = services.campaign_create(portal=request.portal, **fields)
    return Status(201, campaign)


@api.post(
    "/campaigns/{campaign_id}/sends",
    response={201: SendsOut, 404: ErrorOut, **BODY_ERRORS, **COMMON_ERRORS},
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
    response={200: EventBatchOut, 400: ErrorOut, 413: ErrorOut, 422: EventBatchOut, **COMMON_ERRORS},
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
        # 422, not 413: the body's size is fine, the batch breaks the schema's maxItems.
        reason = f"A batch holds at most {services.MAX_BATCH} events; got {len(items)}."
        return Status(422, {"stored": 0, "errors": [{"index": None, "reason": reason}]})
    result = services.events_ingest(portal=request.portal, items=items)
    status = 422 if result.errors and not result.stored else 200
    return Status(status, {"stored": result.stored, "errors": result.errors})


@api.get("/sends/{send_id}", response={200: SendOut, 404: ErrorOut, 422: ErrorOut, **COMMON_ERRORS},
         summary="A send's engagement state")
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
