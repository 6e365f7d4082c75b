"""Sync via sObject Collections: N due sends against sfsim with simulated latency per call.

    .venv/bin/python -m benchmarks.sync_collections [--n 10000] [--latency-ms 50]
                                                     [--sizes 1000,5000] [--naive-n 200] [--keep]

1. Creates its own PostgreSQL database (``BENCH_DATABASE_URL``, default
   postgres://postgres@127.0.0.1:5432/tv_bench_sync) and migrates it; starts sfsim in this
   process with ``--latency-ms`` added to every REST call.
2. For each size (``--sizes`` and ``--n``): a fresh org (``sim.reset``) seeded with the
   Salesforce Contacts; one portal, connected through the simulator's real OAuth flow, with
   sync enabled and N due sends (half matched by a 003 Donor ID, half by email, one
   ``opened`` event each).
3. Runs ONE sync (``sync_portal_run``, the code beat runs) in a child process, so that the
   child's peak RSS (VmHWM) is the sync's alone, and prints: API calls (the
   simulator's count) against the lower bound ``ceil(N/200)`` writes + the matching queries
   actually needed, wall time against calls × latency, peak RSS.
4. Naive baseline, measured in the same run: ``--naive-n`` sends written one REST call per
   record (``POST /sobjects/ThankView__c``), extrapolated to N for the ratio.
5. Drops the database unless ``--keep``.

Targets (issue 5): calls ≤ 1.2 × lower bound; wall ≤ 1.5 × calls × latency; peak RSS
< 250 MB and flat as N grows. Exits non-zero if a target is missed. Not a timed test.
"""

from __future__ import annotations

import argparse
import math
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

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tv_bench_sync"
RSS_LIMIT_MB = 250


def _prepare(sim, n: int):
    """A fresh org with the Contacts, a connected portal with N due sends; returns the portal."""
    from django.utils import timezone

    from engagement.models import Campaign
    from thankview.models import Portal

    sim.reset()
    Portal.objects.all().delete()
    sf_ids = []
    for start in range(0, n, 2000):
        sf_ids += sim.seed(
            "Contact", [{"LastName": f"Donor{i}", "Email": f"donor{i}@bench.example"} for i in range(start, min(n, start + 2000))]
        )
    portal = portal_connect(sim, name=f"Bench {n}", slug=f"bench-{n}").portal
    campaign = Campaign.objects.create(portal=portal, name="Benchmark campaign", video_url="https://videos.example.org/b.mp4")
    sent_at = timezone.now() - timedelta(hours=3)
    for start in range(0, n, 2000):
        # Half matched by Donor ID (a 003 id), half by email.
        people = [(f"donor{i}@bench.example", f"Donor{i}", sf_ids[i] if i % 2 == 0 else "")
                  for i in range(start, min(n, start + 2000))]
        sends_seed(campaign=campaign, people=people, sent_at=sent_at, opened_after=timedelta(minutes=5))
    return portal


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=50,
                        help="simulated latency per call (≥ 1: wall time is judged against calls × latency)")
    parser.add_argument("--sizes", default="1000,5000", help="smaller sizes measured before --n (RSS flatness)")
    parser.add_argument("--naive-n", type=int, default=200)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    if args.latency_ms < 1:
        parser.error("--latency-ms must be at least 1")

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    env = {"SALESFORCE_SYNC_BUFFER_SECONDS": "1800"}
    with sfsim_benchmark(url=url, latency_ms=args.latency_ms, keep=args.keep, env=env) as (_, sim):
        sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()} | {args.n})
        latency = args.latency_ms / 1000
        rows, ok = [], True
        for n in sizes:
            # This benchmark measures the Collections path: keep any Bulk API switch off.
            portal, setup, fig, stats = sync_measured(
                sim, _prepare, n, url=url, env={"SALESFORCE_BULK_THRESHOLD": str(10**9)}
            )
            if fig is None:
                return 1
            by_kind = stats["by_kind"]
            writes = sum(v for k, v in by_kind.items() if k.startswith("collections_"))
            queries = sum(by_kind.get(k, 0) for k in ("query", "query_more", "composite"))  # composite: matching
            calls = stats["api_calls"]
            lower = math.ceil(n / 200) + queries
            row = {
                "n": n, "setup_s": setup, **fig, "calls": calls, "writes": writes, "queries": queries,
                "other": calls - writes - queries, "lower_bound": lower, "calls_ratio": calls / lower,
                "network_s": calls * latency, "wall_ratio": fig["wall"] / (calls * latency),
            }
            rows.append(row)
            print(
                f"N={n:>6}: {fig['outcome']} created {fig['created']}, unmatched {fig['unmatched']}, failed {fig['failed']}; "
                f"API calls {calls} (writes {writes}, matching queries {queries}, other {row['other']}) vs lower bound "
                f"{lower} = ceil(N/200) {math.ceil(n / 200)} + {queries} queries → {row['calls_ratio']:.2f}×; "
                f"wall {fig['wall']:.2f} s vs calls × latency {row['network_s']:.2f} s → {row['wall_ratio']:.2f}×; "
                f"peak RSS {fig['rss_peak_mb']:.0f} MB (after imports {fig['rss_before_mb']:.0f} MB)",
                flush=True,
            )
            ok &= fig["outcome"] == "ok" and fig["created"] == n
            ok &= row["calls_ratio"] <= 1.2 and row["wall_ratio"] <= 1.5 and fig["rss_peak_mb"] < RSS_LIMIT_MB
        naive = naive_rest_writes(sim, portal, min(args.naive_n, sizes[-1]))
        per = naive["wall"] / naive["k"]
        big = rows[-1]
        print(
            f"Naive baseline (one REST call per record): {naive['k']} records in {naive['wall']:.2f} s, "
            f"{naive['calls']} calls ({per * 1000:.0f} ms/record) → N={big['n']} would take "
            f"{per * big['n']:.0f} s and {big['n']} calls; Collections path: {big['wall']:.1f} s and {big['calls']} calls "
            f"({per * big['n'] / big['wall']:.0f}× faster, {big['n'] / big['calls']:.0f}× fewer calls)."
        )
        rss = [r["rss_peak_mb"] for r in rows]
        print("Peak RSS by N: " + ", ".join(f"{r['n']}: {r['rss_peak_mb']:.0f} MB" for r in rows)
              + f" (spread {max(rss) - min(rss):.0f} MB)")
        print("targets:", "pass" if ok else "MISSED")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
