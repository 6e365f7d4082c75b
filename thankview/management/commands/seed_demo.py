import importlib
import importlib.util
import os

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand

from thankview.models import Membership, Portal
from thankview.services import membership_add, portal_create_or_update, support_user_ensure

DEMO_SLUG = "demo"
DEMO_EMAIL = "admin@demo.thankview.local"
DEMO_PASSWORD = os.environ.get("DEMO_ADMIN_PASSWORD", "thankview-demo")
# ThankView support works in Django admin (/admin/): it enables, pauses and re-syncs the sync.
SUPPORT_EMAIL = "support@demo.thankview.local"


class Command(BaseCommand):
    help = (
        "Create the demo portal used by `make run`, or what is missing of it. Safe to run "
        "repeatedly: it never changes or reverts what is already there."
    )

    def handle(self, *args, **options):
        portal = Portal.objects.filter(slug=DEMO_SLUG).first()
        if portal is None:
            portal, user, _ = portal_create_or_update(
                slug=DEMO_SLUG, name="Demo University", admin_email=DEMO_EMAIL, admin_password=DEMO_PASSWORD
            )
        else:
            # A second `make run`: the portal, its name, the admin's password and role stay as
            # the user left them; only a missing demo admin is added back.
            member = Membership.objects.filter(portal=portal, user__email__iexact=DEMO_EMAIL).select_related("user").first()
            user = member.user if member else membership_add(
                portal=portal, email=DEMO_EMAIL, role=Membership.Role.ADMIN, password=DEMO_PASSWORD
            ).user
        # The demo admin is a customer's admin, as in production: Django admin is for the
        # separate support login, so "contact ThankView support" is something to try.
        support_user_ensure(email=SUPPORT_EMAIL, password=DEMO_PASSWORD)
        # Each installed app that has demo data provides `<app>.demo.seed(portal=..., user=...)`;
        # they run in INSTALLED_APPS order, so an app's seed finds the data of the apps below it.
        for config in apps.get_app_configs():
            if importlib.util.find_spec(f"{config.name}.demo") is None:
                continue
            module = importlib.import_module(f"{config.name}.demo")
            summary = module.seed(portal=portal, user=user)
            if summary:
                self.stdout.write(f"  {config.label}: {summary}")
        self.stdout.write(self.style.SUCCESS("Demo portal ready."))
        self.stdout.write(f"  Open   {settings.SITE_URL}/ and sign in")
        self.stdout.write(f"  Email  {DEMO_EMAIL}")
        self.stdout.write(f"  Pass   {DEMO_PASSWORD} (unless you changed it)")
        self.stdout.write(f"  Support (Django admin, {settings.SITE_URL}/admin/): {SUPPORT_EMAIL}, same password")
