"""Operations that write engagement data. Views, the API and tasks call these; nothing
else writes Campaign, Send, EngagementEvent or ApiKey rows.

Events are only ever inserted (no update or delete path exists here); the state of a send
is derived from them by ``engagement.state.send_state``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import smtplib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice

from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from contacts.models import Contact

from .models import ApiKey, Campaign, EngagementEvent, EventType, PortalEmailSettings, Send, SendJob

logger = logging.getLogger(__name__)

EVENT_TYPES = frozenset(EventType.values)
MAX_BATCH = 1000  # events per POST /api/v1/events
MAX_TEXT_REPLY = 5000  # characters kept of a text reply (Salesforce gets the first 255)
MAX_URL = 500
# A client clock may run a little fast; anything further ahead is a bad date, not a skew.
FUTURE_TOLERANCE = timedelta(minutes=5)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
DELIVERY_CHUNK = 200  # sends per delivery task
API_KEY_PREFIX = "tvk"

_url_validator = URLValidator(schemes=["http", "https"])
# Text PostgreSQL cannot store: NUL, and lone UTF-16 surrogates (JSON "\\ud800" decodes to one).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(value):
    """True when ``value`` holds characters the database cannot store."""
    return isinstance(value, str) and _UNSTORABLE.search(value) is not None


def storable(value):
    """``value`` without the characters the database cannot store."""
    return _UNSTORABLE.sub("", value)


def _batched(iterable, size):
    it = iter(iterable)
    while chunk := list(islice(it, size)):
        yield chunk


# --- Campaigns ---------------------------------------------------------------------------


def campaign_create(*, portal, name, video_url, cta_label="", cta_url="", created_by=None):
    """Create a campaign after model validation; raises ValidationError with field errors."""
    campaign = Campaign(
        portal=portal,
        name=(name or "").strip(),
        video_url=(video_url or "").strip(),
        cta_label=(cta_label or "").strip(),
        cta_url=(cta_url or "").strip(),
        created_by=created_by,
    )
    campaign_validate(campaign)
    campaign.save()
    return campaign


def campaign_validate(campaign):
    """Field rules beyond the model: http(s) links only, and a CTA has both label and URL."""
    errors = {}
    for name in ("name", "video_url", "cta_label", "cta_url"):
        if unstorable(getattr(campaign, name)):
            errors[name] = ["This text contains characters that cannot be stored (e.g. NUL)."]
    if errors:
        raise ValidationError(errors)
    try:
        campaign.full_clean(exclude=["portal", "created_by"])
    except ValidationError as e:
        errors.update(e.message_dict)
    for name in ("video_url", "cta_url"):
        value = getattr(campaign, name)
        if value and name not in errors:
            try:
                _url_validator(value)
            except ValidationError:
                errors[name] = ["Enter a web address starting with http:// or https://."]
    if campaign.cta_url and not campaign.cta_label:
        errors.setdefault("cta_label", []).append("Give the button a label, e.g. “Give again”.")
    if campaign.cta_label and not campaign.cta_url:
        errors.setdefault("cta_url", []).append("Enter the address the button opens.")
    if errors:
        raise ValidationError(errors)


# --- Sending -----------------------------------------------------------------------------


@dataclass
class SendResult:
    sends: list = field(default_factory=list)  # the Send of each eligible contact
    created: int = 0
    skipped_unsubscribed: int = 0
    skipped_bounced: int = 0

    @property
    def skipped(self):
        return self.skipped_unsubscribed + self.skipped_bounced


def campaign_send(*, campaign, contacts_qs_or_ids, sent_at=None):
    """Send ``campaign`` to contacts of its portal.

    1. Contacts of other portals are ignored (a queryset is re-scoped, ids are filtered).
    2. Unsubscribed or bounced contacts are skipped and counted (unsubscribed wins when both).
    3. One Send per remaining contact is created with ``sent_at`` (now by default); sending
       again with the same ``sent_at`` reuses the existing Sends (unique constraint).
    4. After commit, ``deliver_sends`` tasks email the Sends not yet emailed, in chunks.
    """
    from .tasks import deliver_sends

    sent_at = sent_at or timezone.now()
    if isinstance(contacts_qs_or_ids, QuerySet):
        contacts = contacts_qs_or_ids.filter(portal=campaign.portal_id)
    else:
        contacts = Contact.objects.filter(portal=campaign.portal_id, pk__in=list(contacts_qs_or_ids))
    result = SendResult()
    eligible = []
    for contact_id, unsubscribed_at, bounced_at in contacts.values_list("id", "unsubscribed_at", "bounced_at"):
        if unsubscribed_at is not None:
            result.skipped_unsubscribed += 1
        elif bounced_at is not None:
            result.skipped_bounced += 1
        else:
            eligible.append(contact_id)

    with transaction.atomic():
        before = Send.objects.filter(campaign=campaign, sent_at=sent_at).count()
        Send.objects.bulk_create(
            [Send(campaign=campaign, contact_id=cid, sent_at=sent_at) for cid in eligible],
            batch_size=1000,
            ignore_conflicts=True,
        )
        sends = []
        for chunk in _batched(eligible, 5000):
            sends.extend(Send.objects.filter(campaign=campaign, sent_at=sent_at, contact_id__in=chunk))
        result.created = Send.objects.filter(campaign=campaign, sent_at=sent_at).count() - before
        result.sends = sorted(sends, key=lambda s: s.pk)
        to_email = [s.pk for s in result.sends if s.emailed_at is None]
        for chunk in _batched(to_email, DELIVERY_CHUNK):
            transaction.on_commit(lambda ids=chunk: deliver_sends.delay(ids))
    return result


# A send job creates Sends this many contacts at a time, each chunk committed on its own so
# its emails start going out (and the page's count moves) while the rest are created.
SEND_JOB_CHUNK = 1000


def send_job_start(*, campaign, audience, created_by=None):
    """Record a press of "Send" and queue ``send_job_run`` for after this transaction.

    ``audience`` is ``{"kind": "all"}``, ``{"kind": "search", "q": "..."}`` or
    ``{"kind": "emails", "emails": [normalised, ...]}``. The task gets the job's id only.
    """
    from .tasks import run_send_job

    if audience.get("kind") not in ("all", "search", "emails"):
        raise ValueError(f"unknown audience {audience!r}")
    job = SendJob.objects.create(campaign=campaign, created_by=created_by, audience=audience)
    transaction.on_commit(lambda: run_send_job.delay(job.pk))
    return job


def _audience_contacts(job):
    """The contacts a job chose, always scoped to the campaign's portal."""
    from contacts.selectors import contact_list

    portal_id = job.campaign.portal_id
    audience = job.audience or {}
    if audience.get("kind") == "search":
        return contact_list(portal=portal_id, q=audience.get("q", "")).order_by()
    if audience.get("kind") == "emails":
        emails = list(audience.get("emails") or [])
        return Contact.objects.filter(portal=portal_id, email_normalized__in=emails)
    return Contact.objects.filter(portal=portal_id)


def send_job_run(*, job):
    """Create the Sends of a job, reporting progress as each chunk commits.

    1. Claim the job (queued, or left ``creating`` by a worker that died; a finished job
       is left alone).
    2. Count the chosen contacts and the ones skipped (unsubscribed wins over bounced, as in
       ``campaign_send``) in one query, and the file's emails that are no contact.
    3. Create the Sends ``SEND_JOB_CHUNK`` contacts at a time with ``campaign_send`` at the
       job's ``sent_at``: each chunk is its own transaction, its delivery tasks are queued
       when it commits, and ``sends`` then counts only committed Sends. A contact who
       unsubscribed after step 2 is moved from the count of sends to the skipped ones.
    4. Mark the job ``created``. On an error it is ``failed``: the Sends already created
       stay and are emailed; running the job again resumes, because ``campaign_send`` at
       the same ``sent_at`` reuses existing Sends and delivery skips emailed ones.
    """
    jobs = SendJob.objects.filter(pk=job.pk)
    claimed = jobs.filter(status__in=[SendJob.Status.QUEUED, SendJob.Status.CREATING]).update(
        status=SendJob.Status.CREATING, started_at=timezone.now(), sends=0
    )
    if not claimed:
        return job
    try:
        _send_job_execute(job=job, jobs=jobs)
    except Exception:
        logger.exception("send job %s failed", job.pk)
        jobs.update(
            status=SendJob.Status.FAILED,
            error="Creating the sends stopped because of an internal error. The sends created so far are being emailed.",
            finished_at=timezone.now(),
        )
    job.refresh_from_db()
    return job


def _send_job_execute(*, job, jobs):
    from django.db.models import Count, Q

    campaign = job.campaign
    contacts = _audience_contacts(job)
    counts = contacts.aggregate(
        total=Count("id"),
        unsubscribed=Count("id", filter=Q(unsubscribed_at__isnull=False)),
        bounced=Count("id", filter=Q(unsubscribed_at__isnull=True, bounced_at__isnull=False)),
    )
    not_found = 0
    if (job.audience or {}).get("kind") == "emails":
        not_found = max(len(job.audience.get("emails") or []) - counts["total"], 0)
    skipped_unsubscribed, skipped_bounced = counts["unsubscribed"], counts["bounced"]
    jobs.update(
        total=counts["total"], skipped_unsubscribed=skipped_unsubscribed, skipped_bounced=skipped_bounced,
        not_found=not_found,
    )
    eligible = list(
        contacts.filter(unsubscribed_at__isnull=True, bounced_at__isnull=True).order_by("pk").values_list("pk", flat=True)
    )
    sends = 0
    for chunk in _batched(eligible, SEND_JOB_CHUNK):
        result = campaign_send(campaign=campaign, contacts_qs_or_ids=chunk, sent_at=job.sent_at)
        sends += len(result.sends)
        skipped_unsubscribed += result.skipped_unsubscribed
        skipped_bounced += result.skipped_bounced
        jobs.update(sends=sends, skipped_unsubscribed=skipped_unsubscribed, skipped_bounced=skipped_bounced)
    jobs.update(status=SendJob.Status.CREATED, finished_at=timezone.now())


# Delivery errors a retry can help with: the mail server or the network is down or busy
# (smtplib's errors, ConnectionError and TimeoutError are all OSErrors). Any other error
# (a malformed address or header, a template that does not render) fails the same way again.
DELIVERY_TRANSIENT = (smtplib.SMTPException, ConnectionError, TimeoutError, OSError)


def _smtp_refused_for_good(error):
    """True for an SMTP 5yz reply: RFC 5321 §4.2.1 makes it a permanent failure, so the
    same message to the same address fails again (e.g. 550 user unknown); 4yz is a
    temporary one worth retrying (e.g. 451 try again later)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(code >= 500 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


def sends_deliver(*, send_ids, final_attempt=False):
    """Email each send not yet emailed; returns how many were emailed.

    1. Sends already emailed, or whose delivery failed for good, are skipped, and so are
       contacts who unsubscribed or bounced since the Send was created.
    2. Each send is claimed (``emailed_at`` set) with a conditional UPDATE before its email
       is handed to the backend, so a redelivered task skips it.
    3. If the backend fails, the claim is released and the other sends are still tried.
       An error no retry can help with (an SMTP 5yz refusal, a message that cannot be
       built) is recorded on the send at once (``email_failed_at`` and ``email_error``). A transient one (``DELIVERY_TRANSIENT``)
       is raised after the other sends, so the task retries; on the task's last attempt
       (``final_attempt``) it is recorded instead, so no send waits for a retry that never
       comes and the job's progress can finish.
    """
    sends = (
        Send.objects.filter(pk__in=send_ids, emailed_at__isnull=True, email_failed_at__isnull=True)
        .select_related("campaign", "campaign__portal", "contact")
        .order_by("pk")
    )
    delivered = 0
    retry_error = None
    mail_connection = get_connection()
    for send in sends:
        if not send.contact.can_receive:
            continue
        claimed = Send.objects.filter(pk=send.pk, emailed_at__isnull=True).update(emailed_at=timezone.now())
        if not claimed:
            continue
        try:
            send_email_build(send=send, connection=mail_connection).send()
        except DELIVERY_TRANSIENT as e:
            if final_attempt or _smtp_refused_for_good(e):
                _send_delivery_failed(send=send, error=e)
            else:
                Send.objects.filter(pk=send.pk).update(emailed_at=None)
                retry_error = e
        except Exception as e:
            logger.exception("email of send %s cannot be delivered", send.pk)
            _send_delivery_failed(send=send, error=e)
        else:
            delivered += 1
    if retry_error is not None:
        raise retry_error
    return delivered


def _send_delivery_failed(*, send, error):
    """Release the claim and record that the email of ``send`` will not be delivered."""
    reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    Send.objects.filter(pk=send.pk).update(
        emailed_at=None, email_failed_at=timezone.now(), email_error=storable(reason)[:255]
    )


def send_email_build(*, send, connection=None):
    """The campaign email of one send: pixel, landing-page link, unsubscribe link and the
    RFC 8058 one-click unsubscribe headers (https://www.rfc-editor.org/rfc/rfc8058)."""
    context = {
        "send": send,
        "campaign": send.campaign,
        "portal": send.campaign.portal,
        "contact": send.contact,
        "landing_url": send.landing_url,
        "pixel_url": send.pixel_url,
        "unsubscribe_url": send.unsubscribe_url,
    }
    subject = render_to_string("engagement/email/send_subject.txt", context).strip()
    text = render_to_string("engagement/email/send_body.txt", context)
    html = render_to_string("engagement/email/send_body.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[send.contact.email],
        connection=connection,
        headers={
            "List-Unsubscribe": f"<{send.unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            # Echoed back by the mail provider's bounce webhook to identify the send.
            "X-ThankView-Send": send.token,
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def recipients_upsert_and_send(*, campaign, recipients, sent_at=None):
    """The API's send: upsert contacts by email, then ``campaign_send`` to them.

    Returns ``(SendResult, import_result, contacts_by_email)``; rows the contacts service
    rejects are reported in ``import_result.errors`` and get no Send.
    """
    from contacts.selectors import contacts_by_email
    from contacts.services import contact_upsert_many

    rows = [
        {
            "email": r.get("email"),
            "first_name": r.get("first_name"),
            "last_name": r.get("last_name"),
            "donor_id": r.get("donor_id"),
            "line": index + 1,  # 1-based, as the contacts service reports it
        }
        for index, r in enumerate(recipients)
    ]
    with transaction.atomic():
        imported = contact_upsert_many(portal=campaign.portal, rows=rows)
        contacts = contacts_by_email(portal=campaign.portal, emails=imported.emails)
        result = campaign_send(campaign=campaign, contacts_qs_or_ids=[c.pk for c in contacts.values()], sent_at=sent_at)
    return result, imported, contacts


# --- Events ------------------------------------------------------------------------------


def event_record(*, send, type, occurred_at=None, data=None):
    """Store one event of a send (recipient pages, webhooks) and apply its side effects."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    now = timezone.now()
    event = EngagementEvent.objects.create(
        send=send, type=type, occurred_at=occurred_at or now, received_at=now, data=data or {}
    )
    _contacts_apply([(send.contact_id, type)], at=now)
    return event


def event_record_by_token(*, token, type, data=None):
    """Store an event for the send with ``token`` in ONE query; True if the send exists.

    The open pixel is the hottest endpoint (every email client that loads images hits it),
    so it neither loads the send nor runs a second query: ``INSERT ... SELECT`` resolves
    the token and writes the event in one statement, committed asynchronously.
    """
    if type not in EVENT_TYPES or type in _CONTACT_EFFECTS:
        raise ValueError(f"event type {type!r} cannot be recorded by token")
    from .selectors import TOKEN_RE

    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        return False
    now = timezone.now()
    events, sends = EngagementEvent._meta.db_table, Send._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Asynchronous commit: this transaction does not wait for its WAL flush, which
            # otherwise dominates the request (about 5 ms per open on the dev machine's disk).
            # A crash of the database server can lose the last fraction of a second of opens,
            # never corrupt anything; for a tracking pixel that is the right trade.
            # https://www.postgresql.org/docs/current/wal-async-commit.html
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(
            f"INSERT INTO {events} (send_id, type, occurred_at, received_at, data) "
            f"SELECT id, %s, %s, %s, %s FROM {sends} WHERE token = %s",
            [type, now, now, json.dumps(data or {}), token],
        )
        return cursor.rowcount == 1


@dataclass
class IngestResult:
    stored: int = 0
    errors: list = field(default_factory=list)  # [{"index": i, "reason": "..."}]


def events_ingest(*, portal, items):
    """Store a batch of API events of ``portal``; good items are kept, bad ones reported.

    1. Each item is checked on its own (shape, type, date, text/url); a bad item is
       reported by index with a reason and nothing of it is stored.
    2. The send ids of all good items are resolved in ONE query, scoped to the portal: a
       send of another portal is "not found", exactly like one that does not exist.
    3. The events are written with one bulk INSERT; unsubscribe and bounce events then
       mark their contacts (one UPDATE per type).
    """
    result = IngestResult()
    if not isinstance(items, list):
        result.errors.append({"index": None, "reason": "The body must be a list of events or {\"events\": [...]}."})
        return result
    if len(items) > MAX_BATCH:
        result.errors.append({"index": None, "reason": f"A batch holds at most {MAX_BATCH} events; got {len(items)}."})
        return result
    now = timezone.now()
    pending = []  # (index, send_id, type, occurred_at, data)
    for index, item in enumerate(items):
        cleaned = _event_item_clean(item, now)
        if isinstance(cleaned, str):
            result.errors.append({"index": index, "reason": cleaned})
        else:
            pending.append((index, *cleaned))

    wanted = {p[1] for p in pending}
    known = dict(
        Send.objects.filter(pk__in=wanted, campaign__portal=portal).values_list("pk", "contact_id")
    ) if wanted else {}
    rows, effects = [], []
    for index, send_id, type_, occurred_at, data in pending:
        if send_id not in known:
            result.errors.append({"index": index, "reason": f"send_id {send_id} not found."})
            continue
        rows.append(EngagementEvent(send_id=send_id, type=type_, occurred_at=occurred_at, received_at=now, data=data))
        if type_ in _CONTACT_EFFECTS:
            effects.append((known[send_id], type_))
    if rows:
        with transaction.atomic():
            EngagementEvent.objects.bulk_create(rows, batch_size=1000)
            _contacts_apply(effects, at=now)
    result.stored = len(rows)
    result.errors.sort(key=lambda e: e["index"])
    return result


def _event_item_clean(item, now):
    """``(send_id, type, occurred_at, data)`` or a reason string."""
    if not isinstance(item, dict):
        return "Each event must be an object."
    send_id = item.get("send_id")
    if isinstance(send_id, bool) or not isinstance(send_id, int) or not 0 < send_id < 2**63:
        return "send_id must be a positive integer."
    type_ = item.get("type")
    if not isinstance(type_, str) or type_ not in EVENT_TYPES:
        return f"type must be one of: {', '.join(sorted(EVENT_TYPES))}."
    occurred_at = item.get("occurred_at")
    if occurred_at is None:
        occurred_at = now
    else:
        occurred_at = parse_timestamp(occurred_at)
        if isinstance(occurred_at, str):
            return occurred_at
        if occurred_at > now + FUTURE_TOLERANCE:
            return "occurred_at is in the future."
    data = {}
    if type_ == EventType.TEXT_REPLY:
        text = item.get("text")
        if not isinstance(text, str) or not text.strip():
            return "text_reply needs a non-empty \"text\"."
        if len(text) > MAX_TEXT_REPLY:
            return f"text is longer than {MAX_TEXT_REPLY} characters."
        if unstorable(text):
            return "text contains characters that cannot be stored (e.g. NUL)."
        data["text"] = text.strip()
    elif type_ == EventType.VIDEO_REPLY:
        reason = url_problem(item.get("url"))
        if reason:
            return reason
        data["url"] = item["url"].strip()
    return send_id, type_, occurred_at, data


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
        _url_validator(url.strip())
    except ValidationError:
        return "url must be a web address starting with http:// or https://."
    return None


# --- Contacts: unsubscribe and bounce ----------------------------------------------------

_CONTACT_EFFECTS = {EventType.UNSUBSCRIBED: "unsubscribed_at", EventType.BOUNCED: "bounced_at"}


def _contacts_apply(effects, *, at):
    """Mark contacts unsubscribed/bounced; the first time counts (never moved later)."""
    by_field = {}
    for contact_id, type_ in effects:
        if type_ in _CONTACT_EFFECTS:
            by_field.setdefault(_CONTACT_EFFECTS[type_], set()).add(contact_id)
    for field_name, contact_ids in by_field.items():
        contact_mark(contact_ids=contact_ids, field_name=field_name, at=at)


def contact_mark(*, contact_ids, field_name, at):
    """Set ``unsubscribed_at`` or ``bounced_at`` on contacts that do not have it yet; the
    portal then skips them when sending ("not emailed again by this portal")."""
    if field_name not in _CONTACT_EFFECTS.values():
        raise ValueError(field_name)
    return Contact.objects.filter(pk__in=contact_ids, **{f"{field_name}__isnull": True}).update(
        **{field_name: at}
    )


def send_unsubscribe(*, send):
    """One-click unsubscribe: an ``unsubscribed`` event and the contact marked."""
    return event_record(send=send, type=EventType.UNSUBSCRIBED)


# --- Bounce webhook ----------------------------------------------------------------------


class WebhookRejected(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def bounce_webhook_receive(*, body, signature):
    """Record a bounce reported by the mail provider.

    The body is JSON ``{"token": "<send token>", "occurred_at"?: "...", "reason"?: "..."}``
    signed with HMAC-SHA256 over the raw body using the portal's bounce webhook secret,
    sent as ``X-ThankView-Signature: sha256=<hex>``. An unknown token and a wrong signature
    get the same 401, computed in the same way, so the answer never tells whether a send
    exists.
    """
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRejected(400, "The body must be JSON.") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("token"), str):
        raise WebhookRejected(400, "The body must be a JSON object with a \"token\".")
    send = None
    from .selectors import send_by_token

    send = send_by_token(payload["token"])
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
    from .models import new_webhook_secret

    row = portal_email_settings_get(portal=portal)
    row.bounce_webhook_secret = new_webhook_secret()
    row.save(update_fields=["bounce_webhook_secret", "updated_at"])
    return row


def bounce_signature(*, secret, body):
    """The signature header value for ``body`` (used by tests, docs and mail-provider glue)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- API keys ----------------------------------------------------------------------------


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
