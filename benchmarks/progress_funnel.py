"""Campaign funnel and progress reads at 100,000 sends; the background import's phases.

    .venv/bin/python -m benchmarks.progress_funnel [--sends 100000] [--runs 15] [--keep]

1. Creates its own PostgreSQL database (``BENCH_DATABASE_URL``, default
   postgres://postgres@127.0.0.1:5432/tv_bench_progress) and migrates it.
2. Seeds one campaign with N sends (one per contact) and about 2.7 events per send, in a
   realistic mix (opened 55 %, implied-only opens, clicks 30 %, watched 25 %, finished 15 %,
   CTA 5 %, duplicates, bounces), plus a second campaign of N/10 sends so every query must
   scope by campaign; ``VACUUM ANALYZE``.
3. Times (median and p95 of ``--runs``, after 2 warm-ups):
   - ``campaign_funnel`` (the SQL aggregate the page uses) and its query count;
   - the naive baseline: load every event and run ``send_state`` per send in Python
     (also checks that both give the same counts);
   - the whole campaign page (Django test Client, signed in);
   - ``send_job_progress`` (what the send page's poller reads every 1–5 s) at N sends;
   - the contacts import status JSON.
4. Runs a background import of N rows (``contact_import_run``) and reports the time of each
   phase (parse, check, save) and how many progress UPDATEs it wrote.
5. Drops the database unless ``--keep``.

Not a timed test: it prints figures for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from datetime import timedelta

from benchmarks.common import drop_database, recreate_database, setup_django, timed

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tv_bench_progress"


def _copy(cursor, table, columns, rows):
    import io

    buf = io.StringIO()
    for row in rows:
        buf.write("\t".join(r"\N" if v is None else str(v) for v in row) + "\n")
    buf.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buf)


def _seed_campaign(portal, n, rng, label):
    """N contacts, one Send each and their events, written with COPY (seconds, not minutes)."""
    from django.db import connection
    from django.utils import timezone

    from contacts.models import Contact
    from engagement.models import Campaign, EngagementEvent, Send

    campaign = Campaign.objects.create(portal=portal, name=f"Bench {label}", video_url="https://v.example/a.webm")
    now = timezone.now()
    with connection.cursor() as cur:
        raw = cur.cursor
        _copy(raw, Contact._meta.db_table,
              ["portal_id", "email", "email_normalized", "first_name", "last_name", "donor_id", "donor_id_status",
               "donor_id_reason", "search_text", "created_at", "updated_at"],
              ((portal.pk, f"{label}{i}@bench.example", f"{label}{i}@bench.example", "", "", "", "", "",
                f"{label}{i}@bench.example", now.isoformat(), now.isoformat()) for i in range(n)))
        cur.execute(f"SELECT id FROM {Contact._meta.db_table} WHERE portal_id = %s AND email LIKE %s ORDER BY id",
                    [portal.pk, f"{label}%"])
        contact_ids = [r[0] for r in cur.fetchall()]
        sent_at = now - timedelta(days=1)
        _copy(raw, Send._meta.db_table, ["campaign_id", "contact_id", "sent_at", "token", "emailed_at", "created_at"],
              ((campaign.pk, cid, sent_at.isoformat(), f"{label}tok{cid}", sent_at.isoformat(), sent_at.isoformat())
               for cid in contact_ids))
        cur.execute(f"SELECT id FROM {Send._meta.db_table} WHERE campaign_id = %s", [campaign.pk])
        send_ids = [r[0] for r in cur.fetchall()]

        def events():
            for sid in send_ids:
                at = (sent_at + timedelta(minutes=rng.randint(1, 600))).isoformat()
                roll = rng.random()
                types = []
                if roll < 0.55 or (roll < 0.65 and rng.random() < 0.5):
                    types.append("opened")
                if roll < 0.30:
                    types.append("clicked")
                if roll < 0.25:
                    types += ["started_watching"] * rng.randint(1, 3)
                if roll < 0.15:
                    types.append("finished_watching")
                if roll < 0.05:
                    types.append("cta_clicked")
                if 0.60 < roll < 0.62:
                    types.append("shared")  # an open implied by a later step only
                if roll > 0.98:
                    types.append("bounced")
                if types and rng.random() < 0.2:
                    types.append(types[0])  # a duplicate delivery
                for t in types:
                    yield sid, t, at, at, "{}"

        _copy(raw, EngagementEvent._meta.db_table, ["send_id", "type", "occurred_at", "received_at", "data"], events())
        cur.execute("VACUUM ANALYZE")
    return campaign


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    recreate_database(url)
    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    try:
        _run(args)
    finally:
        if not args.keep:
            drop_database(url)


def _run(args):
    from django.core.files.base import ContentFile
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from contacts import services as contact_services
    from contacts.models import ContactImport
    from engagement import selectors
    from engagement.models import EngagementEvent, SendJob
    from thankview.services import portal_create_or_update

    n = args.sends
    rng = random.Random(2026)
    portal, user, _ = portal_create_or_update(slug="bench", name="Bench University", admin_email="bench@example.org",
                                              admin_password="bench-password-1")
    started = time.perf_counter()
    campaign = _seed_campaign(portal, n, rng, "a")
    _seed_campaign(portal, n // 10, rng, "b")
    events = EngagementEvent.objects.filter(send__campaign=campaign).count()
    print(f"seeded {n:,} sends and {events:,} events ({events / n:.2f} per send) in {time.perf_counter() - started:.1f} s")
    print()
    print("| what | median ms | p95 ms | queries |")
    print("|---|---:|---:|---:|")

    def row(what, fn, runs=args.runs):
        with CaptureQueriesContext(connection) as ctx:
            result = fn()
        median, p95 = timed(fn, runs)
        queries = len(ctx.captured_queries) if ctx.captured_queries else "—"
        print(f"| {what} | {median:.1f} | {p95:.1f} | {queries} |")
        return result

    funnel = row(f"campaign_funnel at {n:,} sends", lambda: selectors.campaign_funnel(campaign=campaign))

    def naive():
        states = selectors.send_states(campaign.sends.values_list("id", flat=True))
        return {
            "sends": len(states),
            **{k: sum(1 for s in states.values() if getattr(s, k))
               for k in ("opened", "clicked", "started_watching", "finished_watching", "cta_clicked")},
        }

    baseline = row("naive baseline: every event loaded, send_state per send", naive, runs=3)
    assert {s.key: s.count for s in funnel} == baseline, (funnel, baseline)

    client = Client()
    client.force_login(user)
    page = f"/bench/campaigns/{campaign.pk}/"
    row("campaign page (whole request, funnel + first 50 sends)", lambda: client.get(page))

    job = SendJob.objects.create(campaign=campaign, audience={"kind": "all"}, status="created", total=n, sends=n,
                                 sent_at=campaign.sends.values_list("sent_at", flat=True).first())
    progress = row(f"send_job_progress at {n:,} sends (the poller's read)", lambda: selectors.send_job_progress(job=job))
    assert progress["sends"] == n, progress
    status = f"/bench/campaigns/{campaign.pk}/sending/{job.pk}/status.json"
    row("send status JSON (whole request)", lambda: client.get(status))
    print()
    print("funnel:", ", ".join(f"{s.label} {s.count:,} ({s.percent} %)" for s in funnel))

    # The background import of N rows, phase by phase.
    lines = ["Email,First Name,Last Name,Donor ID"]
    lines += [f"imp{i}@bench.example,First{i},Last{i},{'003RO0000035WQgYAM' if i % 3 == 0 else ''}" for i in range(n)]
    data = ("\n".join(lines) + "\n").encode()
    job = ContactImport(portal=portal, filename="bench.csv", size=len(data))
    job.file.save("bench.csv", ContentFile(data), save=False)
    job.save()
    updates = []
    marks = {}
    real_check, real_write = contact_services._rows_check, contact_services._contacts_write

    def timed_check(*a, **kw):
        marks["parsed"] = time.perf_counter()
        progress = kw.get("progress")
        kw["progress"] = lambda k: (updates.append(k), progress(k))
        result = real_check(*a, **kw)
        marks["checked"] = time.perf_counter()
        return result

    def timed_write(**kw):
        marks["saving"] = time.perf_counter()
        result = real_write(**kw)
        marks["written"] = time.perf_counter()
        return result

    contact_services._rows_check, contact_services._contacts_write = timed_check, timed_write
    try:
        started = time.perf_counter()
        contact_services.contact_import_run(job=job)
        ended = time.perf_counter()
    finally:
        contact_services._rows_check, contact_services._contacts_write = real_check, real_write
    job.refresh_from_db()
    print()
    print(f"background import of {n:,} rows: {job.summary()}, {ended - started:.1f} s in all, "
          f"{n / (ended - started):,.0f} rows/s")
    print(f"  read + parse {marks['parsed'] - started:.1f} s; check (progress shown) {marks['checked'] - marks['parsed']:.1f} s, "
          f"{len(updates)} progress UPDATEs; save in one transaction {ended - marks['saving']:.1f} s "
          f"(writing {marks['written'] - marks['saving']:.1f} s)")


if __name__ == "__main__":
    main()
