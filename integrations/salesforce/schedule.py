"""The beat schedule of the sync, created by a migration and kept in step with settings.

``ensure_sync_schedule`` is idempotent: the data migration ``0003_sync_schedule`` runs it
once, and beat runs it again at start-up (``tasks.py``, ``beat_init``) so a changed
``SALESFORCE_SYNC_INTERVAL_SECONDS`` takes effect without anyone editing the schedule in admin.
"""

from datetime import timedelta

from django.utils import timezone
from django_celery_beat.models import PeriodicTask as _PeriodicTask

TASK_NAME = "Salesforce sync: all portals"
TASK_PATH = "integrations.salesforce.tasks.sync_all_portals"


def ensure_sync_schedule(PeriodicTask, IntervalSchedule, every_seconds: int):
    """Create or update the periodic task; returns it. Takes the model classes so that a
    migration can pass its historical models."""
    schedule, _ = IntervalSchedule.objects.get_or_create(every=int(every_seconds), period="seconds")
    task, created = PeriodicTask.objects.get_or_create(
        name=TASK_NAME, defaults={"task": TASK_PATH, "interval": schedule, "enabled": True}
    )
    if not created and (task.interval_id != schedule.pk or task.task != TASK_PATH):
        task.interval = schedule
        task.task = TASK_PATH
        task.save()
    return task


def next_run_at(now=None):
    """When beat will next start the sync (None if the schedule is missing or disabled)."""
    task = _PeriodicTask.objects.filter(name=TASK_NAME, enabled=True).select_related("interval").first()
    if task is None or task.interval is None:
        return None
    now = now or timezone.now()
    every = timedelta(**{task.interval.period: task.interval.every})
    # Before its first run, django-celery-beat counts the interval from the task's last change
    # (ModelEntry: ``last_run_at = model.date_changed or now``): the schedule's start. Beat
    # writes last_run_at after each run it sends (CELERY_BEAT_SYNC_EVERY = 1 in settings).
    start = task.last_run_at or task.date_changed or now
    return max(now, start + every)
