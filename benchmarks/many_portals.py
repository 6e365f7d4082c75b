"""Many portals on two Celery workers: one fan-out, P portals synced in parallel.

    .venv/bin/python -m benchmarks.many_portals [--portals 8] [--sends 1000] [--latency-ms 50]
                                                [--workers 2] [--naive-n 100] [--json PATH]

1. Own PostgreSQL database (``BENCH_DATABASE_URL``, default
   postgres://postgres@127.0.0.1:5432/tv_bench_portals), sfsim in this process with
   ``--latency-ms`` per REST call: ONE org shared by all portals (a network of portals on one
   Salesforce org), P portals each connected through the simulator's OAuth flow with S new
   sends (matched by email).
2. Starts ``--workers`` real Celery worker processes (solo pool, ``tests/workers.py``) on the
   Redis broker ``BENCH_BROKER_URL`` (default redis://127.0.0.1:6379/6, flushed first), sends
   ONE ``sync_all_portals`` and waits (bounded) until every portal's run has finished.
3. Figures: wall time from the fan-out to the last run's end vs the sum of the runs' own
   durations (what one worker would need: the parallel speed-up); API calls vs the lower
   bound (per portal describe + ceil(S/200) writes, plus the matching queries
   counted); the peak RSS (VmHWM) of each worker process; checks that every send is in the
   org exactly once and that no portal's runs overlapped.
4. Naive baseline in the same run: ``--naive-n`` records created one REST call per record,
   serially, extrapolated to P × S.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

from benchmarks.common import (
    naive_rest_writes,
    portal_connect,
    sends_seed,
    sfsim_benchmark,
    vm_hwm_mb,
)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tv_bench_portals"
DEFAULT_BROKER = "redis://127.0.0.1:6379/6"
WAIT_SECONDS = 600


def prepare(sim, portals: int, sends: int):
    from django.utils import timezone

    from engagement.models import Campaign

    sim.reset()
    out = []
    sent_at = timezone.now() - timedelta(hours=3)
    for p in range(portals):
        portal = portal_connect(sim, name=f"Campus {p}", slug=f"campus-{p}").portal
        campaign = Campaign.objects.create(portal=portal, name=f"Giving day {p}", video_url="https://videos.example.org/g.mp4")
        emails = [f"c{p}-{i}@portals.example" for i in range(sends)]
        for start in range(0, sends, 2000):
            sim.seed("Contact", [{"LastName": f"L{i}", "Email": e} for i, e in enumerate(emails[start : start + 2000])])
        sends_seed(campaign=campaign, people=[(e, "L", "") for e in emails], sent_at=sent_at,
                   opened_after=timedelta(minutes=5))
        out.append(portal)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portals", type=int, default=8)
    parser.add_argument("--sends", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--naive-n", type=int, default=100)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args(argv)

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    broker = os.environ.get("BENCH_BROKER_URL", DEFAULT_BROKER)
    with sfsim_benchmark(url=url, latency_ms=args.latency_ms, keep=args.keep) as (handle, sim):
        import redis
        from celery import Celery

        from integrations.models import SyncRun
        from tests.workers import celery_processes

        total = args.portals * args.sends
        t0 = time.perf_counter()
        portals = prepare(sim, args.portals, args.sends)
        setup = time.perf_counter() - t0
        redis.Redis.from_url(broker).flushdb()
        sim.reset_stats()
        with tempfile.TemporaryDirectory() as tmp, celery_processes(
            broker=broker, tmp_path=Path(tmp), sfsim=handle, workers=args.workers
        ) as procs:
            time.sleep(3)  # workers up and connected to the broker before the clock starts
            start_at = time.perf_counter()
            Celery("bench", broker=broker).send_task("integrations.salesforce.tasks.sync_all_portals")
            deadline = time.monotonic() + WAIT_SECONDS
            while time.monotonic() < deadline:
                if not procs.alive():
                    print(procs.dump(), file=sys.stderr)
                    return 1
                finished = SyncRun.objects.filter(portal__in=portals).exclude(outcome="running").count()
                if finished >= len(portals):
                    break
                time.sleep(0.2)
            wall = time.perf_counter() - start_at
            rss = {name: vm_hwm_mb(p.pid) for name, p in procs.procs.items()}
            tasks = {name: len(re.findall(r"sync_portal\[[^\]]+\] succeeded", procs.log_text(name))) for name in procs.procs}
        runs = list(SyncRun.objects.filter(portal__in=portals))
        stats = sim.stats()
        records = sim.records("ThankView__c")
        once = len(records) == total and all(n == 1 for n in Counter(r["Url__c"] for r in records).values())
        overlap_same = any(
            b.started_at < a.finished_at
            for p in portals
            for a, b in pairwise(sorted((r for r in runs if r.portal_id == p.pk), key=lambda r: r.started_at))
        )
        serial = sum((r.finished_at - r.started_at).total_seconds() for r in runs)
        by_kind = stats["by_kind"]
        queries = sum(by_kind.get(k, 0) for k in ("query", "query_more", "composite"))  # composite: matching
        lower = args.portals * (1 + math.ceil(args.sends / 200)) + queries  # describe + writes; runs never read /limits
        calls = stats["api_calls"]
        nv = naive_rest_writes(sim, portals[0], args.naive_n)
        per = nv["wall"] / nv["k"]
        result = {
            "portals": args.portals, "sends": args.sends, "total": total, "workers": args.workers, "latency_ms": args.latency_ms,
            "setup_s": setup, "wall": wall, "serial": serial, "speedup": serial / wall if wall else 0,
            "calls": calls, "queries": queries, "lower_bound": lower, "by_kind": by_kind,
            "outcomes": dict(Counter(r.outcome for r in runs)), "created": sum(r.created for r in runs),
            "exactly_once": once, "overlap_same_portal": overlap_same, "rss_mb": rss, "tasks_per_worker": tasks,
            "naive": {"sample": nv["k"], "sample_wall": nv["wall"], "calls": total, "wall": per * total},
        }
        print(
            f"{args.portals} portals × {args.sends:,} sends on {args.workers} workers (sfsim latency {args.latency_ms} ms): "
            f"wall {wall:.1f} s vs {serial:.1f} s of runs → {result['speedup']:.2f}× parallel; created {result['created']:,} "
            f"of {total:,}, each once: {once}; same-portal overlap: {overlap_same}; API calls {calls} vs lower bound "
            f"{lower} → {calls / lower:.2f}×; worker peak RSS {', '.join(f'{k} {v:.0f} MB' for k, v in rss.items())}; "
            f"tasks per worker {tasks}; setup {setup:.0f} s"
        )
        print(
            f"Naive baseline (one REST call per record, serial): {nv['k']} records in {nv['wall']:.2f} s → {total:,} records "
            f"would take {per * total:.0f} s and {total:,} calls."
        )
        ok = once and not overlap_same and result["created"] == total and result["speedup"] > 1.3
        print("targets: every send once, no same-portal overlap, parallel speed-up > 1.3×:", "pass" if ok else "MISSED")
        result["ok"] = ok
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, default=str)
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
