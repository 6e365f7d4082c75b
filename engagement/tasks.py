"""Celery tasks: thin wrappers that load ids and call services."""

import smtplib

from celery import shared_task

from . import services


@shared_task(
    bind=True,
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError, OSError),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=5,
)
def deliver_sends(self, send_ids):
    """Email the given sends. Safe to redeliver: sends already emailed are skipped."""
    return services.sends_deliver(send_ids=send_ids)


@shared_task(acks_late=True)
def run_send_job(job_id):
    """Create the Sends of a press of "Send". Safe to redeliver (see ``send_job_run``)."""
    from .models import SendJob

    job = SendJob.objects.select_related("campaign", "campaign__portal").filter(pk=job_id).first()
    if job is None:  # deleted with its campaign before a worker got to it
        return None
    return services.send_job_run(job=job).status
