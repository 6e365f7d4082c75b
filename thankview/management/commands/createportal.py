from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from thankview.services import portal_create_or_update


class Command(BaseCommand):
    help = "Create a portal and its first admin (idempotent: re-running updates, never duplicates)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--admin-password")

    def handle(self, *args, slug, name, admin_email, admin_password, **options):
        try:
            portal, user, created = portal_create_or_update(
                slug=slug, name=name, admin_email=admin_email, admin_password=admin_password
            )
        except ValidationError as e:
            raise CommandError("; ".join(e.messages)) from e
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} portal {portal.slug!r} ({portal.name}); admin: {user.email}")
