"""Trigram index for the contacts search.

The list searches ``search_text LIKE '%q%'`` (a substring, anywhere in name, email or Donor
ID). A B-tree cannot serve a leading wildcard; a pg_trgm GIN index can, and keeps search at
100,000 contacts in single-digit milliseconds (benchmarks/README.md). Every database the
portal runs on is PostgreSQL with pg_trgm, the demo's embedded server included.

https://www.postgresql.org/docs/current/pgtrgm.html#PGTRGM-INDEX
"""

from django.db import migrations

INDEX = "contact_search_trgm"


def create_index(apps, schema_editor):
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON contacts_contact USING gin (search_text gin_trgm_ops)"
    )


def drop_index(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("contacts", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
