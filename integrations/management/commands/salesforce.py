"""Support's switches for a portal's Salesforce sync (the same as the Django admin actions).

    python manage.py salesforce status SLUG
    python manage.py salesforce enable SLUG
    python manage.py salesforce pause SLUG
    python manage.py salesforce resync SLUG --campaign ID
"""

from django.core.management.base import BaseCommand, CommandError

from engagement.models import Campaign
from integrations.models import SalesforceConnection
from integrations.salesforce import selectors, support
from integrations.salesforce.schedule import next_run_at
from thankview.models import Portal


class Command(BaseCommand):
    help = "Show, enable, pause or re-sync a portal's Salesforce sync."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "enable", "pause", "resync"])
        parser.add_argument("slug", metavar="SLUG")
        parser.add_argument("--campaign", type=int, metavar="ID", help="resync: the campaign to re-sync.")

    def handle(self, *args, action, slug, campaign=None, **options):
        portal = Portal.objects.filter(slug=slug).first()
        if portal is None:
            raise CommandError(f"No portal with slug {slug!r}.")
        conn = SalesforceConnection.objects.filter(portal=portal).first()
        if action == "status":
            return self._status(portal, conn)
        if conn is None or not conn.has_tokens:
            raise CommandError(f"{slug} is not connected to Salesforce; a portal admin must connect it first.")
        if action == "enable":
            changed = support.sync_enable(connection=conn)
            self.stdout.write(f"{slug}: sync {'enabled' if changed else 'was already enabled'} (since {conn.sync_enabled_at:%Y-%m-%d %H:%M} UTC).")
        elif action == "pause":
            changed = support.sync_pause(connection=conn)
            self.stdout.write(f"{slug}: sync {'paused' if changed else 'was already paused'}.")
        else:
            if campaign is None:
                raise CommandError("resync needs --campaign ID.")
            c = Campaign.objects.filter(portal=portal, pk=campaign).first()
            if c is None:
                raise CommandError(f"{slug} has no campaign {campaign}.")
            n = support.campaign_resync(campaign=c)
            self.stdout.write(f"{slug}: {n} send(s) of “{c.name}” will be re-synced in the next run.")

    def _status(self, portal, conn):
        w = self.stdout.write
        if conn is None:
            w(f"{portal.slug}: not connected")
            return
        w(f"{portal.slug}: {conn.get_status_display()}, {conn.get_environment_display()}, org {conn.org_id or '-'} as {conn.username or '-'}")
        w(f"  sync: {'enabled' if conn.sync_enabled else 'off'}" + (f" (enabled at {conn.sync_enabled_at:%Y-%m-%d %H:%M} UTC)" if conn.sync_enabled_at else ""))
        if conn.error_kind:
            w(f"  banner: {conn.get_error_kind_display()} — {conn.error_code} {conn.error_message}")
        if conn.api_usage_max:
            w(f"  API usage: {conn.api_usage_used}/{conn.api_usage_max}")
        last = selectors.last_run(portal=portal)
        w(f"  last run: {last.started_at:%Y-%m-%d %H:%M} UTC {last.get_outcome_display()} ({last.summary()})" if last else "  last run: none")
        nxt = next_run_at() if conn.sync_enabled else None
        w(f"  next run: {nxt:%Y-%m-%d %H:%M} UTC" if nxt else "  next run: not scheduled")
        if conn.org_id:
            t = selectors.record_totals(portal=portal, org_id=conn.org_id)
            w(f"  records: {t['synced']} synced, {t['unmatched']} unmatched, {t['failed']} failed")
