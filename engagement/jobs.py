"""Starting background work: each function writes through a service and has the task
queued once the transaction commits (a worker must never look for a row not yet committed).

Jobs sit above both services and tasks, so services never import tasks: they take the
function that queues the work (``deliver``) from here or from the task that calls them.
"""

from django.db import transaction

from . import services
from .tasks import deliver_sends, run_send_job


def deliveries_enqueue(send_ids):
    """Queue the email of ``send_ids`` (one ``deliver_sends`` task)."""
    deliver_sends.delay(send_ids)


def campaign_send(*, campaign, contacts_qs_or_ids, sent_at=None):
    """Send ``campaign`` to contacts of its portal: the Sends now, their emails by a worker
    after commit (``services.sends_create``)."""
    return services.sends_create(
        campaign=campaign, contacts_qs_or_ids=contacts_qs_or_ids, sent_at=sent_at, deliver=deliveries_enqueue
    )


def recipients_upsert_and_send(*, campaign, recipients, sent_at=None):
    """The API's send: contacts upserted by email, Sends created, emails queued after commit
    (``services.recipients_sends_create``)."""
    return services.recipients_sends_create(
        campaign=campaign, recipients=recipients, sent_at=sent_at, deliver=deliveries_enqueue
    )


def send_job_start(*, campaign, audience, created_by=None):
    """Record a press of "Send" and queue its send job for after this transaction; the
    worker creates the Sends (``services.send_job_run``). Returns the ``SendJob``."""
    job = services.send_job_create(campaign=campaign, audience=audience, created_by=created_by)
    transaction.on_commit(lambda: run_send_job.delay(job.pk))
    return job
