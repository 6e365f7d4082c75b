"""Run one Salesforce sync cycle now, synchronously, and print what it did.

    python manage.py sync_salesforce               # every connected portal with sync enabled
    python manage.py sync_salesforce --portal SLUG # one portal (must still be enabled)

The same code as the Celery beat task (``run.sync_portal_run``); for support and
development. Portals are never synced without support having enabled them.
"""

from django.core.management.base import BaseCommand, CommandError

from integrations.models import SalesforceConnection
from integrations.salesforce.run import sync_portal_run
from thankview.models import Portal


class Command(BaseCommand):
    help = "Run one Salesforce sync cycle synchronously and print a summary per portal."

    def add_arguments(self, parser):
        parser.add_argument("--portal", metavar="SLUG", help="Only this portal.")

    def handle(self, *args, portal=None, **options):
        if portal:
            portals = list(Portal.objects.filter(slug=portal))
            if not portals:
                raise CommandError(f"No portal with slug {portal!r}.")
        else:
            ids = SalesforceConnection.objects.filter(
                status=SalesforceConnection.Status.CONNECTED, sync_enabled=True
            ).values_list("portal_id", flat=True)
            portals = list(Portal.objects.filter(pk__in=list(ids)).order_by("slug"))
            if not portals:
                self.stdout.write("No portal is connected with sync enabled.")
                return
        for p in portals:
            result = sync_portal_run(portal=p, trigger="command")
            self.stdout.write(f"{p.slug}: {result.summary()}")
