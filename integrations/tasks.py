"""Celery discovers ``<app>.tasks``; the Salesforce tasks live in ``salesforce/tasks.py``."""

from .salesforce.tasks import sync_all_portals, sync_portal  # noqa: F401
