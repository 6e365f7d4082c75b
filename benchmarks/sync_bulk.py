"""Sync via Bulk API 2.0: support re-syncs a campaign of N sends already in Salesforce.

    .venv/bin/python -m benchmarks.sync_bulk [--n 100000] [--sizes 10000] [--latency-ms 50]
                                             [--naive-n 200] [--keep] [--json PATH]

The case the issue names: "a re-sync of a big campaign must cost a few API calls, not
thousands". For each size (``--sizes`` and ``--n``):

1. A fresh simulator org (``sim.reset``) with N Contacts and the N ``ThankView__c`` records a
   previous sync wrote; a portal connected through the simulator's real OAuth flow, sync
   enabled, N sends with events and their ``SalesforceRecord`` rows; then
   ``support.campaign_resync`` (what the admin action does) makes all N due.
2. ONE sync run (``sync_portal_run``, the code beat runs) in a child process, so its peak
   RSS (VmHWM) is the sync's own. More than ``SALESFORCE_BULK_THRESHOLD`` (2,000) are due,
   so it writes with Bulk API 2.0: one update job keyed by ``Id``.
3. Figures: API calls (the simulator's count) against the lower bound
   ``1 + 5 × jobs`` (describe, then per job: create, upload, UploadComplete, one
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
import sys
from datetime import timedelta

from benchmarks.common import (
    naive_rest_writes,
    portal_connect,
    sends_seed,
    sfsim_benchmark,
    sync_measured,
)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tv_bench_bulk"
CALLS_TARGET = 30
CHUNK = 5000


def prepare(sim, n: int, *, backfill: bool = False):
    """Org with N Contacts and N ThankView__c records; portal with N synced sends, re-sync
    requested. ``backfill``: no records yet (a first sync of N new sends: matched by email,
    then inserted)."""
    from django.utils import timezone

    from engagement.models import Campaign
    from integrations.models import SalesforceRecord
    from integrations.salesforce import support
    from thankview.models import Portal

    sim.reset()
    Portal.objects.all().delete()
    conn = portal_connect(sim, name=f"Bulk {n}", slug=f"bulk-{n}", enabled_days_ago=30)
    portal, org_id = conn.portal, conn.org_id
    campaign = Campaign.objects.create(portal=portal, name="Annual appeal", video_url="https://videos.example.org/a.mp4")
    sent_at = timezone.now() - timedelta(days=10)
    synced_cutoff = sent_at + timedelta(days=1)
    for start in range(0, n, CHUNK):
        idx = range(start, min(n, start + CHUNK))
        emails = [f"alum{i}@bulk.example" for i in idx]
        sf_contacts = sim.seed("Contact", [{"LastName": f"Alum{i}", "Email": e} for i, e in zip(idx, emails)])
        sends = sends_seed(campaign=campaign, people=[(e, f"Alum{i}", "") for i, e in zip(idx, emails)],
                           sent_at=sent_at, opened_after=timedelta(hours=1))
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
        assert support.campaign_resync(campaign=campaign) == n
    return portal


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--sizes", default="10000", help="smaller sizes measured first (RSS flatness)")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--naive-n", type=int, default=200)
    parser.add_argument("--backfill-n", type=int, default=0, help="also a first backfill of this many new sends")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", help="write the figures to this file (benchmarks/run.py)")
    args = parser.parse_args(argv)

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    with sfsim_benchmark(url=url, latency_ms=args.latency_ms, keep=args.keep) as (_, sim):
        from django.conf import settings

        sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()} | {args.n})
        rows, ok = [], True
        for n in sizes:
            portal, setup, fig, stats = sync_measured(sim, prepare, n, url=url)
            if fig is None:
                return 1
            jobs = max(len(fig["jobs"]), 1)
            lower = 1 + 5 * jobs
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
        nv = naive_rest_writes(sim, portal, min(args.naive_n, big["n"]), update=True)
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
            portal, setup, fig, stats = sync_measured(sim, prepare, n, url=url, backfill=True)
            if fig is None:
                return 1
            # Matching calls: GET queries, their further pages, and /composite calls (≤ 5 query
            # subrequests each, the way round the 16 KB URI limit of a GET).
            queries = sum(stats["by_kind"].get(k, 0) for k in ("query", "query_more", "composite"))
            lower = 1 + 5 * max(len(fig["jobs"]), 1) + queries
            backfill = {"n": n, "setup_s": round(setup, 1), **fig, "calls": stats["api_calls"], "queries": queries,
                        "lower_bound": lower, "by_kind": stats["by_kind"],
                        "naive": {"calls": n, "wall": per * n, "sample": nv["k"], "per_record_s": per}}
            print(
                f"Backfill N={n:,}: {fig['outcome']} created {fig['created']:,}; jobs {fig['jobs']}; API calls "
                f"{stats['api_calls']} ({queries} matching calls: {stats['by_kind']}) vs "
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


if __name__ == "__main__":
    sys.exit(main())
