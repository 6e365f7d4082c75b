"""Re-encrypt stored Salesforce tokens under the newest FIELD_ENCRYPTION_KEYS key.

Rotate a key: put the new key first in FIELD_ENCRYPTION_KEYS (keep the old one after it),
deploy, run ``python manage.py rotate_salesforce_tokens``, then remove the old key.
"""

from django.core.management.base import BaseCommand

from integrations.salesforce.connection import connection_tokens_rotate


class Command(BaseCommand):
    help = "Re-encrypt every stored Salesforce token with the first FIELD_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        n = connection_tokens_rotate()
        self.stdout.write(f"Re-encrypted the tokens of {n} connection(s).")
