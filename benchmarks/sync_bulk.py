"""Sync via Bulk API 2.0: support re-syncs a campaign of N sends already in Salesforce.

    .venv/bin/python -m benchmarks.sync_bulk [--n 100000] [--sizes 10000] [--latency-ms 50]
                                             [--naive-n 200] [--keep] [--json PATH]

The case the issue names: "a re-sync of a big campaign must cost a few API calls, not
thousands". For each size (``--sizes`` and ``--n``):

1. A fresh simulator org (``sim.reset``) with N Contacts and the N ``ThankView__c`` records a
   previous sync wrote; a portal connected through the simulator's real OAuth flow, sync
   enabled, N sends with events and their ``SalesforceRecord`` rows; then
   ``sync.campaign_resync`` (what the admin action does) makes all N due.
2. ONE sync run (``sync_portal_run``, the code beat runs) in a child process, so its peak
   RSS (VmHWM) is the sync's own. More than ``SALESFORCE_BULK_THRESHOLD`` (2,000) are due,
   so it writes with Bulk API 2.0: one update job keyed by ``Id``.
3. Figures: API calls (the simulator's count) against the lower bound
   ``2 + 5 × jobs`` (describe + /limits, then per job: create, upload, UploadComplete, one
   poll, successful results), wall time, peak RSS.
4. Naive baseline in the same run: ``--naive-n`` records updated one REST call per record
   (``PATCH /sobjects/ThankView__c/{id}``), extrapolated to N (calls = N, time = N × the
   measured time per record).

Creates and drops its own database (``BENCH_DATABASE_URL``, default
postgres://postgres@127.0.0.1:5432/tv_bench_bulk). Targets (issue 6): N = 100,000 in ≤ 30 API
calls; peak RSS flat as N grows (spread < 25 % of the smaller). Exits non-zero if missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import timedelta

from benchmarks.contacts_pages import _recreate_database, _setup_django

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tv_bench_bulk"
CALLS_TARGET = 30
CHUNK = 5000


def vm_hwm_mb() -> float:
    """Peak RSS of this process image (VmHWM; unlike ru_maxrss it starts fresh after exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def child_sync(portal_id: int) -> None:
    """In a fresh process: one sync run; prints a JSON line with the figures."""
    import django

    django.setup()
    from django.urls import get_resolver

    from integrations.ops_models import BulkJob
    from integrations.salesforce.sync import sync_portal_run
    from thankview.models import Portal

    _ = get_resolver().url_patterns  # a worker has its URLconf loaded before any run
    portal = Portal.objects.get(pk=portal_id)
    base = vm_hwm_mb()
    t0 = time.perf_counter()
    run = sync_portal_run(portal=portal, trigger="benchmark").run
    wall = time.perf_counter() - t0
    jobs = list(BulkJob.objects.filter(run=run).values("operation", "rows", "state"))
    print(json.dumps({
        "wall": wall, "outcome": run.outcome, "error": run.error_message, "due": run.due, "created": run.created,
        "updated": run.updated, "failed": run.failed, "client_calls": run.api_calls, "jobs": jobs,
        "rss_before_mb": base, "rss_peak_mb": vm_hwm_mb(),
    }))


def prepare(sim, n: int, *, backfill: bool = False):
    """Org with N Contacts and N ThankView__c records; portal with N synced sends, re-sync
    requested. ``backfill``: no records yet (a first sync of N new sends: matched by email,
    then inserted)."""
    from django.utils import timezone

    from contacts.models import Contact, donor_id_fields, normalize_email, search_text_for
    from engagement.models import Campaign, EngagementEvent, Send
    from integrations.models import SalesforceConnection
    from integrations.salesforce import oauth, sync
    from integrations.sync_models import SalesforceRecord
    from thankview.models import Portal

    sim.reset()
    Portal.objects.all().delete()
    token = sim.connect()
    org_id, user_id = oauth.ids_from_identity_url(token["id"])
    portal = Portal.objects.create(name=f"Bulk {n}", slug=f"bulk-{n}")
    conn = SalesforceConnection(
        portal=portal, status="connected", login_url=sim.url, instance_url=token["instance_url"], org_id=org_id,
        user_id=user_id, sync_enabled=True, sync_enabled_at=timezone.now() - timedelta(days=30),
    )
    conn.access_token, conn.refresh_token = token["access_token"], token["refresh_token"]
    conn.save()
    campaign = Campaign.objects.create(portal=portal, name="Annual appeal", video_url="https://videos.example.org/a.mp4")
    sent_at = timezone.now() - timedelta(days=10)
    synced_cutoff = sent_at + timedelta(days=1)
    for start in range(0, n, CHUNK):
        idx = range(start, min(n, start + CHUNK))
        emails = [f"alum{i}@bulk.example" for i in idx]
        sf_contacts = sim.seed("Contact", [{"LastName": f"Alum{i}", "Email": e} for i, e in zip(idx, emails)])
        contacts = Contact.objects.bulk_create([
            Contact(portal=portal, email=e, email_normalized=normalize_email(e), last_name=f"Alum{i}",
                    search_text=search_text_for(first_name="", last_name=f"Alum{i}", email=e, donor_id=""),
                    **donor_id_fields(""))
            for i, e in zip(idx, emails)
        ])
        sends = Send.objects.bulk_create([Send(campaign=campaign, contact=c, sent_at=sent_at) for c in contacts])
        EngagementEvent.objects.bulk_create([
            EngagementEvent(send=s, type="opened", occurred_at=sent_at, received_at=sent_at + timedelta(hours=1))
            for s in sends
        ])
        if backfill:
            continue
        record_ids = sim.seed("ThankView__c", [
            {"Contact__c": cid, "Event_Name__c": campaign.name, "Sent_Date__c": sent_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
             "Url__c": s.landing_url, "Opened__c": False}
            for cid, s in zip(sf_contacts, sends)
        ])
        SalesforceRecord.objects.bulk_create([
            SalesforceRecord(send=s, portal=portal, org_id=org_id, status="synced", record_id=rid, contact_id=cid,
                             lookup_field="Contact__c", match_method="email_contact", last_synced_cutoff=synced_cutoff,
                             synced_at=synced_cutoff)
            for s, rid, cid in zip(sends, record_ids, sf_contacts)
        ])
    if not backfill:
        assert sync.campaign_resync(campaign=campaign) == n
    return portal


def naive(sim, portal, k: int) -> dict:
    """k records updated one REST call per record (what a simple integration would do)."""
    from engagement.models import Send
    from engagement.selectors import send_states
    from integrations.models import SalesforceConnection
    from integrations.salesforce.client import SalesforceClient
    from integrations.salesforce.mapping import build_values, mappings_for
    from integrations.sync_models import SalesforceRecord

    conn = SalesforceConnection.objects.get(portal=portal)
    client = SalesforceClient(conn)
    sends = list(Send.objects.filter(campaign__portal=portal).select_related("campaign", "contact").order_by("pk")[:k])
    states = send_states([s.pk for s in sends])
    records = dict(SalesforceRecord.objects.filter(send__in=sends).values_list("send_id", "record_id"))
    mappings = mappings_for(portal)
    before = sim.stats()["api_calls"]
    t0 = time.perf_counter()
    for send in sends:
        values = build_values(mappings, send=send, campaign=send.campaign, contact=send.contact, state=states[send.pk])
        client.sf.restful(f"sobjects/ThankView__c/{records[send.pk]}", method="PATCH", json=values)
    wall = time.perf_counter() - t0
    return {"k": k, "wall": wall, "calls": sim.stats()["api_calls"] - before}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--sizes", default="10000", help="smaller sizes measured first (RSS flatness)")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--naive-n", type=int, default=200)
    parser.add_argument("--backfill-n", type=int, default=0, help="also a first backfill of this many new sends")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", help="write the figures to this file (benchmarks/run.py)")
    parser.add_argument("--child-sync", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_sync:
        child_sync(args.child_sync)
        return 0

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    _recreate_database(url)
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        os.environ.pop(name, None)
    from sfsim.control import SimControl
    from sfsim.server import start

    handle = start(port=0, latency_ms=args.latency_ms)
    os.environ.update(SALESFORCE_CA_BUNDLE=handle.ca_path, SALESFORCE_SIMULATOR_URL=handle.url)
    _setup_django(url)
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    sim = SimControl(handle.url, handle.ca_path)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()} | {args.n})
    rows, ok = [], True
    try:
        for n in sizes:
            t0 = time.perf_counter()
            portal = prepare(sim, n)
            setup = time.perf_counter() - t0
            sim.reset_stats()
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.sync_bulk", "--child-sync", str(portal.pk)],
                env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True, check=False,
            )
            if out.returncode != 0:
                print(out.stdout, out.stderr, file=sys.stderr)
                return 1
            fig = json.loads(out.stdout.strip().splitlines()[-1])
            stats = sim.stats()
            jobs = max(len(fig["jobs"]), 1)
            lower = 2 + 5 * jobs
            calls = stats["api_calls"]
            row = {"n": n, "setup_s": round(setup, 1), **fig, "calls": calls, "lower_bound": lower,
                   "by_kind": stats["by_kind"], "latency_ms": args.latency_ms}
            rows.append(row)
            print(
                f"N={n:>7}: {fig['outcome']} updated {fig['updated']:,}, failed {fig['failed']}; jobs {fig['jobs']}; "
                f"API calls {calls} (by kind {stats['by_kind']}) vs lower bound {lower} → {calls / lower:.2f}×; "
                f"wall {fig['wall']:.1f} s; peak RSS {fig['rss_peak_mb']:.0f} MB (after imports "
                f"{fig['rss_before_mb']:.0f} MB); setup {setup:.0f} s",
                flush=True,
            )
            ok &= fig["outcome"] == "ok" and fig["updated"] == n
        big = rows[-1]
        nv = naive(sim, portal, min(args.naive_n, big["n"]))
        per = nv["wall"] / nv["k"]
        big_naive = {"sample": nv["k"], "sample_wall": nv["wall"], "calls": big["n"], "wall": per * big["n"]}
        print(
            f"Naive baseline (one REST call per record, PATCH by id): {nv['k']} records in {nv['wall']:.2f} s "
            f"({per * 1000:.0f} ms/record), extrapolated to N={big['n']:,}: {big['n']:,} calls, {per * big['n']:.0f} s. "
            f"Bulk: {big['calls']} calls ({big['n'] / big['calls']:,.0f}× fewer), {big['wall']:.0f} s "
            f"({per * big['n'] / big['wall']:.0f}× faster)."
        )
        for r in rows:
            r["naive"] = {"calls": r["n"], "wall": per * r["n"], "sample": nv["k"], "per_record_s": per}
        if args.backfill_n:
            n = args.backfill_n
            t0 = time.perf_counter()
            portal = prepare(sim, n, backfill=True)
            setup = time.perf_counter() - t0
            sim.reset_stats()
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.sync_bulk", "--child-sync", str(portal.pk)],
                env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True, check=False,
            )
            if out.returncode != 0:
                print(out.stdout, out.stderr, file=sys.stderr)
                return 1
            fig = json.loads(out.stdout.strip().splitlines()[-1])
            stats = sim.stats()
            queries = stats["by_kind"].get("query", 0) + stats["by_kind"].get("query_more", 0)
            lower = 2 + 5 * max(len(fig["jobs"]), 1) + queries
            backfill = {"n": n, "setup_s": round(setup, 1), **fig, "calls": stats["api_calls"], "queries": queries,
                        "lower_bound": lower, "by_kind": stats["by_kind"],
                        "naive": {"calls": n, "wall": per * n, "sample": nv["k"], "per_record_s": per}}
            print(
                f"Backfill N={n:,}: {fig['outcome']} created {fig['created']:,}; jobs {fig['jobs']}; API calls "
                f"{stats['api_calls']} ({queries} matching queries: SOQL IN lists are cut at the 16 KB URI limit) vs "
                f"lower bound {lower} → {stats['api_calls'] / lower:.2f}×; wall {fig['wall']:.1f} s; peak RSS "
                f"{fig['rss_peak_mb']:.0f} MB",
                flush=True,
            )
            ok &= fig["outcome"] == "ok" and fig["created"] == n
        rss = [r["rss_peak_mb"] for r in rows]
        flat = (max(rss) - min(rss)) <= 0.25 * min(rss)
        print("Peak RSS by N: " + ", ".join(f"{r['n']:,}: {r['rss_peak_mb']:.0f} MB" for r in rows)
              + f" (spread {max(rss) - min(rss):.0f} MB: {'flat' if flat else 'NOT flat'})")
        ok &= big["calls"] <= CALLS_TARGET and flat
        print(f"targets: 100k in <= {CALLS_TARGET} calls, RSS flat:", "pass" if ok else "MISSED")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"rows": rows, "naive": big_naive, "ok": ok, "backfill": backfill if args.backfill_n else None,
                           "threshold": settings.SALESFORCE_BULK_THRESHOLD}, f, default=str)
        return 0 if ok else 1
    finally:
        handle.stop()
        if not args.keep:
            from django.db import connections

            connections.close_all()
            _recreate_database(url, drop_only=True)


if __name__ == "__main__":
    sys.exit(main())
