"""Celery tasks: thin wrappers that load ids and call services."""

from celery import shared_task

from . import services
from .models import SendJob


@shared_task(
    bind=True,
    autoretry_for=services.DELIVERY_TRANSIENT,
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=5,
)
def deliver_sends(self, send_ids):
    """Email the given sends. Safe to redeliver: sends already emailed are skipped. On the
    last attempt a delivery that fails again is recorded as failed on its send, not raised."""
    final_attempt = self.request.retries >= self.max_retries
    return services.sends_deliver(send_ids=send_ids, final_attempt=final_attempt)


@shared_task(acks_late=True)
def run_send_job(job_id):
    """Create the Sends of a press of "Send" and queue their emails as each chunk commits.
    Safe to redeliver (see ``send_job_run``)."""
    job = SendJob.objects.select_related("campaign", "campaign__portal").filter(pk=job_id).first()
    if job is None:  # deleted with its campaign before a worker got to it
        return None
    return services.send_job_run(job=job, deliver=deliver_sends.delay).status
