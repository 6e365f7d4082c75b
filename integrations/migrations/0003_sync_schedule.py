"""Create the django-celery-beat schedule of the Salesforce sync (not by hand in admin)."""

from django.conf import settings
from django.db import migrations


def create_schedule(apps, schema_editor):
    from integrations.salesforce.schedule import ensure_sync_schedule

    ensure_sync_schedule(
        apps.get_model("django_celery_beat", "PeriodicTask"),
        apps.get_model("django_celery_beat", "IntervalSchedule"),
        settings.SALESFORCE_SYNC_INTERVAL_SECONDS,
    )


def remove_schedule(apps, schema_editor):
    from integrations.salesforce.schedule import TASK_NAME

    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0002_salesforcerecord_syncrun"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
