"""Create a portal API key for automation; prints only the key (it is stored hashed)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from engagement import services
from thankview.models import Portal


class Command(BaseCommand):
    help = "Create an API key for the portal with this slug and print it (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The portal's slug, e.g. demo")
        parser.add_argument("--name", default="Command line", help="What the key is for (shown on the API keys page)")

    def handle(self, *args, slug, name, **options):
        portal = Portal.objects.filter(slug=slug).first()
        if portal is None:
            raise CommandError(f"No portal with slug “{slug}”.")
        try:
            _, raw = services.apikey_create(portal=portal, name=name)
        except ValidationError as e:
            raise CommandError(" ".join(e.messages)) from None
        self.stdout.write(raw)
