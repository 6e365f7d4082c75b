"""Starting background work: each function writes through a service, then queues the task
once the transaction commits (a worker must never look for a row not yet committed).

Jobs sit above both services and tasks, so services never import tasks.
"""

from django.db import transaction

from . import services
from .tasks import import_contacts


def contact_import_start(*, portal, created_by, upload):
    """Store an uploaded CSV and queue its import; returns the ``ContactImport``.

    Raises ``services.ImportRefused``, storing and queueing nothing, for a file refused as
    a whole (see ``services.contact_import_create``).
    """
    job = services.contact_import_create(portal=portal, created_by=created_by, upload=upload)
    transaction.on_commit(lambda: import_contacts.delay(job.pk))
    return job
