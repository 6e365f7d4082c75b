"""python manage.py import_contacts SLUG FILE.csv

Prints ``imported N, updated M, rejected K`` followed by each rejected row (line and reason)
and each row whose Donor ID was imported but flagged invalid. Exit status 1 when the file is
refused as a whole (nothing is written then).
"""

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from contacts import services
from thankview.models import Portal


class Command(BaseCommand):
    help = "Import contacts from a CSV file into a portal (matched by email)."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="Portal slug")
        parser.add_argument("file", help="Path to a UTF-8 CSV file")

    def handle(self, *args, slug, file, **options):
        try:
            portal = Portal.objects.get(slug=slug)
        except Portal.DoesNotExist:
            raise CommandError(f"No portal with slug “{slug}”.") from None
        try:
            size = os.path.getsize(file)
            if size > settings.CONTACT_IMPORT_MAX_BYTES:
                raise services.ImportRefused(services.too_big_message(size))
            with open(file, "rb") as fh:
                data = fh.read()
        except OSError as e:
            raise CommandError(f"Can't read {file}: {e.strerror}.") from None
        except services.ImportRefused as e:
            raise CommandError(str(e)) from None
        try:
            result = services.contact_import_csv(portal=portal, data=data)
        except services.ImportRefused as e:
            raise CommandError(str(e)) from None
        self.stdout.write(result.summary())
        for problem in result.errors:
            self.stdout.write(f"line {problem.line}: rejected: {problem.message}")
        for problem in result.warnings:
            self.stdout.write(f"line {problem.line}: {problem.message}")
        if result.ignored_columns:
            self.stdout.write(f"columns not imported: {', '.join(result.ignored_columns)}")
