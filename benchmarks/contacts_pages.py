"""Contacts pages at 100,000 contacts: server time of the list, search and Invalid filter.

    .venv/bin/python -m benchmarks.contacts_pages [--contacts 100000] [--runs 25] [--reuse] [--keep]

1. Creates its own PostgreSQL database (``BENCH_DATABASE_URL``, default
   postgres://postgres@127.0.0.1:5432/tv_bench_contacts), dropping an old one unless
   ``--reuse`` finds it already seeded, and runs the migrations.
2. Seeds one portal with N contacts through ``contact_upsert_many`` (the import's code path;
   its time is reported too) and a second portal with N/10, so every query has to scope by
   portal. About 40 % carry a valid 003 Donor ID, 5 % a Lead ID, 3 % an invalid one.
3. ``VACUUM ANALYZE`` (what autovacuum does on a live database).
4. For each page, in-process with Django's test Client as a signed-in admin: 3 warm-up
   requests, then the median and 95th percentile of ``--runs`` requests (whole Django
   request: middleware, session, queries, template), plus the query count of one request.
5. Drops the database unless ``--keep``.

Not a timed test: it prints figures for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

from benchmarks.common import database_exists, drop_database, recreate_database, setup_django, timed

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tv_bench_contacts"
TARGET_MS = 150

FIRST = ["Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Sophia", "Elijah", "Isabella", "Lucas", "Mia",
         "Mateo", "Charlotte", "Levi", "Harper", "Ethan", "Evelyn", "James", "Abigail", "Benjamin", "Priya", "Wei",
         "Fatima", "Kenji", "Aisha", "Diego", "Ingrid", "Tomas", "Zoe", "Kwame", "Hannah", "Omar", "Lena", "Ravi"]
LAST = ["Anderson", "Okafor", "Garcia", "Nguyen", "Patel", "Kowalski", "Smith", "Johnson", "OBrien", "Muller",
        "Rossi", "Tanaka", "Haddad", "Lindqvist", "Mensah", "Dubois", "Silva", "Cohen", "Fischer", "Walker",
        "Brown", "Davis", "Miller", "Wilson", "Moore", "Taylor", "Thomas", "Jackson", "White", "Harris", "Martin",
        "Thompson", "Young", "King", "Wright", "Lopez", "Hill", "Scott", "Green", "Adams", "Baker", "Nelson"]
INVALID = ["1004422", "001D000000IRFmaIAH", "003ro0000035wqgyam", "003RO0000035", "SF-20417"]
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _rows(n, rng, domain):
    rows = []
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        roll = rng.random()
        if roll < 0.40:
            donor_id = "003" + "5g0000" + "".join(rng.choice(BASE62) for _ in range(6))
        elif roll < 0.45:
            donor_id = "00Q" + "5g0000" + "".join(rng.choice(BASE62) for _ in range(6))
        elif roll < 0.48:
            donor_id = rng.choice(INVALID)
        else:
            donor_id = ""
        rows.append({"email": f"{first}.{last}.{i}@{domain}".lower(), "first_name": first, "last_name": last,
                     "donor_id": donor_id})
    return rows


def _seed(n):
    from contacts import services
    from contacts.models import Contact
    from thankview.services import portal_create_or_update

    portal, user, _ = portal_create_or_update(slug="bench", name="Bench University", admin_email="bench@example.org",
                                              admin_password="bench-password-1")
    other, _, _ = portal_create_or_update(slug="other", name="Other College", admin_email="other@example.org")
    seeded = None
    if Contact.objects.filter(portal=portal).count() != n:
        rng = random.Random(2024)
        started = time.perf_counter()
        result = services.contact_upsert_many(portal=portal, rows=_rows(n, rng, "bench.example"))
        seeded = (time.perf_counter() - started, result)
        services.contact_upsert_many(portal=other, rows=_rows(n // 10, rng, "other.example"))
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE contacts_contact")
    return portal, user, seeded


def _measure(client, url, runs):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response

    median, p95 = timed(get, runs, warmups=3)
    with CaptureQueriesContext(connection) as ctx:
        response = get()
    return median, p95, len(ctx.captured_queries), response.content


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--show-queries", action="store_true", help="print the SQL of one page")
    args = parser.parse_args(argv)
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)

    if not (args.reuse and database_exists(url)):
        recreate_database(url)
    setup_django(url)
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    portal, user, seeded = _seed(args.contacts)
    client = Client()
    client.force_login(user)

    base = f"/{portal.slug}/contacts/"
    pages = [
        ("list, page 1", base),
        ("list, page 100 (offset 4,950)", base + "?page=100"),
        ("search name “smith”", base + "?q=smith"),
        ("search late-sorting name “young”", base + "?q=young"),
        ("search matching every row “bench.example”", base + "?q=bench.example"),
        ("search full name “olivia smith”", base + "?q=olivia+smith"),
        ("search email “.4217@”", base + "?q=.4217%40"),
        ("search Donor ID fragment “5g0000ab”", base + "?q=5g0000ab"),
        ("search 2 characters “zz” (too short for trigrams)", base + "?q=zz"),
        ("filter Invalid Donor ID", base + "?filter=invalid"),
        ("filter Invalid + search “smith”", base + "?filter=invalid&q=smith"),
    ]
    print(f"\nContacts pages at {args.contacts:,} contacts (+{args.contacts // 10:,} in another portal), "
          f"PostgreSQL, median of {args.runs} requests\n")
    if seeded:
        elapsed, result = seeded
        print(f"seeded through contact_upsert_many: {result.summary()} in {elapsed:.1f} s "
              f"({args.contacts / elapsed:,.0f} rows/s)\n")
    print("| page | median ms | p95 ms | queries | rows shown |")
    print("|---|---:|---:|---:|---:|")
    worst = 0.0
    if args.show_queries:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            client.get(base + "?filter=invalid&q=smith")
        for q in ctx.captured_queries:
            print(f"  {q['time']}s  {q['sql'][:160]}")
        print()
    for label, page_url in pages:
        median, p95, queries, content = _measure(client, page_url, args.runs)
        shown = content.count(b'<tr id="contact-')
        worst = max(worst, median)
        print(f"| {label} | {median:.1f} | {p95:.1f} | {queries} | {shown} |")
    verdict = "PASS" if worst < TARGET_MS else "FAIL"
    print(f"\nslowest median {worst:.1f} ms; target < {TARGET_MS} ms: {verdict}")

    if not args.keep:
        drop_database(url)
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
