"""Celery tasks: thin wrappers that load ids and call services."""

from celery import shared_task

from . import services
from .models import ContactImport


@shared_task(acks_late=True)
def import_contacts(import_id):
    """Run the contacts import ``import_id``. Safe to redeliver (see ``contact_import_run``)."""
    job = ContactImport.objects.select_related("portal").filter(pk=import_id).first()
    if job is None:  # deleted (e.g. its portal) before a worker got to it
        return None
    return services.contact_import_run(job=job).status
