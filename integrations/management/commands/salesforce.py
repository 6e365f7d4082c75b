"""Support's switches for a portal's Salesforce sync: the twins of the Django admin actions,
calling the same services, so they log alike (the portal's sync history and the admin's
history, under the staff user given with ``--by``).

    python manage.py salesforce status SLUG
    python manage.py salesforce enable SLUG --by EMAIL
    python manage.py salesforce pause SLUG --by EMAIL
    python manage.py salesforce resync SLUG --campaign ID --by EMAIL
    python manage.py salesforce cap SLUG --percent N --by EMAIL
    python manage.py salesforce contact-object SLUG --lookup-field F --object O --email-field E --by EMAIL
    python manage.py salesforce disconnect SLUG --by EMAIL
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from engagement.models import Campaign
from integrations.models import SalesforceConnection
from integrations.salesforce import budget, estimate, selectors, support
from integrations.salesforce.overview import sync_state
from integrations.salesforce.schedule import next_run_at
from thankview.models import Portal

CHANGES = ["enable", "pause", "resync", "cap", "contact-object", "disconnect"]


class Command(BaseCommand):
    help = "Show a portal's Salesforce sync, or enable, pause, re-sync, cap, re-point or disconnect it."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", *CHANGES])
        parser.add_argument("slug", metavar="SLUG")
        parser.add_argument("--by", metavar="EMAIL", help="The staff user doing this (for both histories); "
                            "required for every change.")
        parser.add_argument("--campaign", type=int, metavar="ID", help="resync: the campaign to re-sync.")
        parser.add_argument("--percent", type=int, metavar="N", help="cap: the share of the org's daily requests, 1-100.")
        parser.add_argument("--lookup-field", metavar="F", help="contact-object: ThankView__c's lookup field.")
        parser.add_argument("--object", metavar="O", help="contact-object: the object it points to.")
        parser.add_argument("--email-field", metavar="E", help="contact-object: that object's email field.")

    def handle(self, *args, action, slug, **options):
        portal = Portal.objects.filter(slug=slug).first()
        if portal is None:
            raise CommandError(f"No portal with slug {slug!r}.")
        conn = SalesforceConnection.objects.filter(portal=portal).select_related("portal").first()
        if action == "status":
            return self._status(portal, conn)
        by = self._staff(options["by"], action)
        if conn is None or not conn.has_tokens:
            raise CommandError(f"{slug} is not connected to Salesforce; a portal admin must connect it first.")
        getattr(self, "_" + action.replace("-", "_"))(conn, by, options)

    def _staff(self, email, action):
        if not email:
            raise CommandError(f"{action} needs --by EMAIL: the staff user doing it, for the admin's history.")
        user = get_user_model().objects.filter(email__iexact=email, is_staff=True, is_active=True).first()
        if user is None:
            raise CommandError(f"--by {email}: no active staff user has this email.")
        return user

    def _enable(self, conn, by, options):
        changed = support.sync_enable(connection=conn, by=by)
        self.stdout.write(f"{conn.portal.slug}: sync {'enabled' if changed else 'was already enabled'} "
                          f"(first enabled {conn.sync_enabled_at:%Y-%m-%d %H:%M} UTC).")

    def _pause(self, conn, by, options):
        changed = support.sync_pause(connection=conn, by=by)
        self.stdout.write(f"{conn.portal.slug}: sync {'paused' if changed else 'was not on'}.")

    def _resync(self, conn, by, options):
        if options["campaign"] is None:
            raise CommandError("resync needs --campaign ID.")
        c = Campaign.objects.filter(portal=conn.portal, pk=options["campaign"]).first()
        if c is None:
            raise CommandError(f"{conn.portal.slug} has no campaign {options['campaign']}.")
        est = estimate.connection_estimate(connection=conn, sends=c.sends.all())
        n = support.campaign_resync(campaign=c, requested_by=by)
        self.stdout.write(f"{conn.portal.slug}: {n} send(s) of “{c.name}” will be re-synced in the next run "
                          f"(at most {est.calls:,} API calls via {est.path_label}).")

    def _cap(self, conn, by, options):
        percent = options["percent"]
        if percent is None or not 1 <= percent <= 100:
            raise CommandError("cap needs --percent N, a whole percentage from 1 to 100.")
        changed = support.api_cap_set(connection=conn, percent=percent, by=by)
        self.stdout.write(f"{conn.portal.slug}: API cap {'set to' if changed else 'was already'} {self._cap_text(conn)}.")

    def _contact_object(self, conn, by, options):
        values = {"contact_lookup_field": options["lookup_field"], "contact_object": options["object"],
                  "contact_email_field": options["email_field"]}
        if not all(values.values()):
            raise CommandError("contact-object needs --lookup-field, --object and --email-field.")
        try:
            changed = support.contact_object_set(connection=conn, **values, by=by)
        except ValueError as e:
            raise CommandError(str(e)) from e
        label = support.contact_object_label(**values)
        self.stdout.write(f"{conn.portal.slug}: contact object {'set to' if changed else 'was already'} {label}.")

    def _disconnect(self, conn, by, options):
        revoked, detail = support.support_disconnect(connection=conn, by=by)
        how = "token revoked" if revoked else f"Salesforce did not confirm the revoke ({detail}); the token is forgotten here"
        self.stdout.write(f"{conn.portal.slug}: disconnected from Salesforce ({how}).")

    @staticmethod
    def _cap_text(conn) -> str:
        cap = budget.portal_cap(conn)
        calls = f" = {cap.calls:,} calls per day" if cap.calls is not None else ""
        return f"{cap.percent}% of the org's daily requests{calls}; {cap.used_24h:,} used in the last 24 hours"

    def _status(self, portal, conn):
        w = self.stdout.write
        if conn is None:
            w(f"{portal.slug}: not connected")
            return
        w(f"{portal.slug}: {conn.get_status_display()}, {conn.get_environment_display()}, org {conn.org_id or '-'} as {conn.username or '-'}")
        w(f"  sync: {'enabled' if conn.sync_enabled else 'off'} — {sync_state(conn)}")
        w(f"  API cap: {self._cap_text(conn)}")
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
        for e in selectors.support_history(portal=portal, limit=5):
            w(f"  {e.at:%Y-%m-%d %H:%M} UTC: {e.summary}" + (f" ({e.actor.email})" if e.actor else ""))
