"""Sending a campaign: creating the Sends (now, from the API, or as a send job on a worker).

Emailing them is ``delivery``'s job. Services never enqueue tasks themselves, so whoever
starts a send passes ``deliver``, a function that queues the delivery of a list of send
ids (``engagement.jobs`` and the send-job task pass ``deliver_sends.delay``); it is called
once the Sends are committed, ``DELIVERY_CHUNK`` sends at a time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from itertools import islice

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from contacts.models import Contact
from contacts.selectors import contacts_by_email
from contacts.services import contact_upsert_many

from ..models import Send, SendJob
from ..selectors import audience_contacts, audience_counts

logger = logging.getLogger(__name__)

DELIVERY_CHUNK = 200  # sends per delivery task


def _batched(iterable, size):
    it = iter(iterable)
    while chunk := list(islice(it, size)):
        yield chunk


@dataclass
class SendResult:
    sends: list = field(default_factory=list)  # the Send of each eligible contact
    created: int = 0
    skipped_unsubscribed: int = 0
    skipped_bounced: int = 0

    @property
    def skipped(self):
        return self.skipped_unsubscribed + self.skipped_bounced


def sends_create(*, campaign, contacts_qs_or_ids, deliver, sent_at=None):
    """Create the Sends of ``campaign`` to contacts of its portal.

    1. Contacts of other portals are ignored (a queryset is re-scoped, ids are filtered).
    2. Unsubscribed or bounced contacts are skipped and counted (unsubscribed wins when both).
    3. One Send per remaining contact is created with ``sent_at`` (now by default); sending
       again with the same ``sent_at`` reuses the existing Sends (unique constraint).
    4. After commit, ``deliver(send_ids)`` queues the email of the Sends not yet emailed,
       ``DELIVERY_CHUNK`` at a time.
    """
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
            transaction.on_commit(lambda ids=chunk: deliver(ids))
    return result


# A send job creates Sends this many contacts at a time, each chunk committed on its own so
# its emails start going out (and the page's count moves) while the rest are created.
SEND_JOB_CHUNK = 1000


def send_job_create(*, campaign, audience, created_by=None):
    """Record a press of "Send"; ``jobs.send_job_start`` queues ``send_job_run`` for it.

    ``audience`` is ``{"kind": "all"}``, ``{"kind": "search", "q": "..."}`` or
    ``{"kind": "emails", "emails": [normalised, ...]}``. The task gets the job's id only.
    """
    if audience.get("kind") not in ("all", "search", "emails"):
        raise ValueError(f"unknown audience {audience!r}")
    return SendJob.objects.create(campaign=campaign, created_by=created_by, audience=audience)


def send_job_run(*, job, deliver):
    """Create the Sends of a job, reporting progress as each chunk commits; ``deliver`` as
    in ``sends_create``.

    1. Claim the job (queued, or left ``creating`` by a worker that died; a finished job
       is left alone).
    2. Count the chosen contacts and the ones skipped (unsubscribed wins over bounced, as in
       ``sends_create``) in one query, and the file's emails that are no contact.
    3. Create the Sends ``SEND_JOB_CHUNK`` contacts at a time with ``sends_create`` at the
       job's ``sent_at``: each chunk is its own transaction, its delivery tasks are queued
       when it commits, and ``sends`` then counts only committed Sends. A contact who
       unsubscribed after step 2 is moved from the count of sends to the skipped ones.
    4. Mark the job ``created``. On an error it is ``failed``: the Sends already created
       stay and are emailed; running the job again resumes, because ``sends_create`` at
       the same ``sent_at`` reuses existing Sends and delivery skips emailed ones.
    """
    jobs = SendJob.objects.filter(pk=job.pk)
    claimed = jobs.filter(status__in=[SendJob.Status.QUEUED, SendJob.Status.CREATING]).update(
        status=SendJob.Status.CREATING, started_at=timezone.now(), sends=0
    )
    if not claimed:
        return job
    try:
        _send_job_execute(job=job, jobs=jobs, deliver=deliver)
    except Exception:
        logger.exception("send job %s failed", job.pk)
        jobs.update(
            status=SendJob.Status.FAILED,
            error="Creating the sends stopped because of an internal error. The sends created so far are being emailed.",
            finished_at=timezone.now(),
        )
    job.refresh_from_db()
    return job


def _send_job_execute(*, job, jobs, deliver):
    campaign = job.campaign
    contacts = audience_contacts(portal_id=campaign.portal_id, audience=job.audience)
    counts = audience_counts(portal_id=campaign.portal_id, audience=job.audience)
    skipped_unsubscribed, skipped_bounced = counts["unsubscribed"], counts["bounced"]
    jobs.update(
        total=counts["total"], skipped_unsubscribed=skipped_unsubscribed, skipped_bounced=skipped_bounced,
        not_found=counts["not_found"],
    )
    eligible = list(
        contacts.filter(unsubscribed_at__isnull=True, bounced_at__isnull=True).order_by("pk").values_list("pk", flat=True)
    )
    sends = 0
    for chunk in _batched(eligible, SEND_JOB_CHUNK):
        result = sends_create(campaign=campaign, contacts_qs_or_ids=chunk, sent_at=job.sent_at, deliver=deliver)
        sends += len(result.sends)
        skipped_unsubscribed += result.skipped_unsubscribed
        skipped_bounced += result.skipped_bounced
        jobs.update(sends=sends, skipped_unsubscribed=skipped_unsubscribed, skipped_bounced=skipped_bounced)
    jobs.update(status=SendJob.Status.CREATED, finished_at=timezone.now())


def recipients_sends_create(*, campaign, recipients, deliver, sent_at=None):
    """The API's send: upsert contacts by email, then ``sends_create`` for them.

    Returns ``(SendResult, import_result, contacts_by_email)``; rows the contacts service
    rejects are reported in ``import_result.errors`` and get no Send.
    """
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
        result = sends_create(
            campaign=campaign, contacts_qs_or_ids=[c.pk for c in contacts.values()], sent_at=sent_at, deliver=deliver
        )
    return result, imported, contacts

