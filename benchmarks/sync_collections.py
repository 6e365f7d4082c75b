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
   child's peak RSS (``ru_maxrss``) is the sync's alone, and prints: API calls (the
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
import json
import math
import os
import subprocess
import sys
import time
from datetime import timedelta

from benchmarks.contacts_pages import _recreate_database, _setup_django

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tv_bench_sync"
RSS_LIMIT_MB = 250


def _vm_hwm_mb() -> float:
    """Peak RSS of this process image (VmHWM). Unlike ``ru_maxrss``, which Linux carries over
    ``exec`` from the (large) parent, VmHWM starts fresh in the child."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child_sync(portal_id: int) -> None:
    """Runs in a fresh process: one sync run; prints a JSON line with the figures."""
    import django

    django.setup()
    from integrations.salesforce.sync import sync_portal_run
    from thankview.models import Portal

    portal = Portal.objects.get(pk=portal_id)
    # A worker is long-lived: its URLconf (imported by the first reverse()) is loaded before
    # any sync runs. Load it here too, so the figures are the sync's own.
    from django.urls import get_resolver

    _ = get_resolver().url_patterns
    sql_times: dict[str, list] = {}
    if os.environ.get("BENCH_SQL_TIMING"):  # which statements the run spends its database time on
        from django.db import connection

        def timer(execute, sql, params, many, context):
            t = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                entry = sql_times.setdefault(" ".join(sql.split())[:90], [0, 0.0])
                entry[0] += 1
                entry[1] += time.perf_counter() - t

        connection.execute_wrappers.append(timer)
    base_rss = _vm_hwm_mb()
    t0 = time.perf_counter()
    result = sync_portal_run(portal=portal, trigger="benchmark")
    wall = time.perf_counter() - t0
    run = result.run
    for sql, (count, total) in sorted(sql_times.items(), key=lambda kv: -kv[1][1])[:12]:
        print(f"SQL {total * 1000:8.1f} ms {count:5d}x  {sql}", file=sys.stderr)
    print(json.dumps({
        "wall": wall,
        "outcome": run.outcome,
        "error": run.error_message,
        "due": run.due,
        "created": run.created,
        "unmatched": run.unmatched,
        "failed": run.failed,
        "client_calls": run.api_calls,
        "rss_before_mb": base_rss,
        "rss_peak_mb": _vm_hwm_mb(),
    }))


def _prepare(sim, n: int):
    """A fresh org with the Contacts, a connected portal with N due sends; returns the portal."""
    from django.utils import timezone

    from contacts.models import Contact, donor_id_fields, normalize_email, search_text_for
    from engagement.models import Campaign, EngagementEvent, Send
    from integrations.models import SalesforceConnection
    from integrations.salesforce import oauth
    from thankview.models import Portal

    sim.reset()
    Portal.objects.all().delete()
    sf_ids = []
    for start in range(0, n, 2000):
        sf_ids += sim.seed(
            "Contact", [{"LastName": f"Donor{i}", "Email": f"donor{i}@bench.example"} for i in range(start, min(n, start + 2000))]
        )
    token = sim.connect()
    org_id, user_id = oauth.ids_from_identity_url(token["id"])
    portal = Portal.objects.create(name=f"Bench {n}", slug=f"bench-{n}")
    conn = SalesforceConnection(
        portal=portal, status="connected", login_url=sim.url, instance_url=token["instance_url"],
        org_id=org_id, user_id=user_id, sync_enabled=True, sync_enabled_at=timezone.now() - timedelta(days=1),
    )
    conn.access_token = token["access_token"]
    conn.refresh_token = token["refresh_token"]
    conn.save()
    campaign = Campaign.objects.create(portal=portal, name="Benchmark campaign", video_url="https://videos.example.org/b.mp4")
    sent_at = timezone.now() - timedelta(hours=3)
    for start in range(0, n, 2000):
        idx = range(start, min(n, start + 2000))
        rows = []
        for i in idx:
            email = f"donor{i}@bench.example"
            donor = sf_ids[i] if i % 2 == 0 else ""  # half by Donor ID, half by email
            rows.append(Contact(
                portal=portal, email=email, email_normalized=normalize_email(email), last_name=f"Donor{i}",
                search_text=search_text_for(first_name="", last_name=f"Donor{i}", email=email, donor_id=donor),
                **donor_id_fields(donor),
            ))
        contacts = Contact.objects.bulk_create(rows)
        sends = Send.objects.bulk_create([Send(campaign=campaign, contact=c, sent_at=sent_at) for c in contacts])
        EngagementEvent.objects.bulk_create([
            EngagementEvent(send=s, type="opened", occurred_at=sent_at, received_at=sent_at + timedelta(minutes=5))
            for s in sends
        ])
    return portal


def _naive(sim, portal, k: int) -> dict:
    """k sends written one REST call per record (the baseline the Collections path replaces)."""
    from engagement.models import Send
    from engagement.selectors import send_states
    from integrations.models import SalesforceConnection
    from integrations.salesforce.client import SalesforceClient
    from integrations.salesforce.mapping import build_values, mappings_for

    conn = SalesforceConnection.objects.get(portal=portal)
    client = SalesforceClient(conn)
    sends = list(Send.objects.filter(campaign__portal=portal).select_related("campaign", "contact").order_by("pk")[:k])
    states = send_states([s.pk for s in sends])
    mappings = mappings_for(portal)
    contact_ids = [r["Id"] for r in sim.records("Contact")[:k]]
    before = sim.stats()["api_calls"]
    t0 = time.perf_counter()
    for send, cid in zip(sends, contact_ids):
        values = build_values(mappings, send=send, campaign=send.campaign, contact=send.contact, state=states[send.pk])
        values["Contact__c"] = cid
        client.sf.restful("sobjects/ThankView__c/", method="POST", json=values)
    wall = time.perf_counter() - t0
    return {"k": k, "wall": wall, "calls": sim.stats()["api_calls"] - before}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--sizes", default="1000,5000", help="smaller sizes measured before --n (RSS flatness)")
    parser.add_argument("--naive-n", type=int, default=200)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--child-sync", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child_sync:
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            cProfile.runctx("_child_sync(args.child_sync)", globals(), locals(), os.environ["BENCH_PROFILE"])
            return 0
        _child_sync(args.child_sync)
        return 0

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    _recreate_database(url)
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # they would override the simulator's CA
        os.environ.pop(name, None)
    from sfsim.control import SimControl
    from sfsim.server import start

    handle = start(port=0, latency_ms=args.latency_ms)
    os.environ["SALESFORCE_CA_BUNDLE"] = handle.ca_path
    os.environ["SALESFORCE_SIMULATOR_URL"] = handle.url
    os.environ["SALESFORCE_SYNC_BUFFER_SECONDS"] = "1800"
    _setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    sim = SimControl(handle.url, handle.ca_path)
    sim.url = handle.url
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()} | {args.n})
    latency = args.latency_ms / 1000
    rows, ok = [], True
    try:
        for n in sizes:
            t0 = time.perf_counter()
            portal = _prepare(sim, n)
            setup = time.perf_counter() - t0
            sim.reset_stats()
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.sync_collections", "--child-sync", str(portal.pk)],
                # This benchmark measures the Collections path: keep any Bulk API switch off.
                env={**os.environ, "DATABASE_URL": url, "SALESFORCE_BULK_THRESHOLD": str(10**9)}, capture_output=True, text=True, check=False,
            )
            if out.returncode != 0 or os.environ.get("BENCH_SQL_TIMING"):
                print(out.stdout, out.stderr, file=sys.stderr)
            if out.returncode != 0:
                return 1
            fig = json.loads(out.stdout.strip().splitlines()[-1])
            stats = sim.stats()
            by_kind = stats["by_kind"]
            writes = sum(v for k, v in by_kind.items() if k.startswith("collections_"))
            queries = by_kind.get("query", 0) + by_kind.get("query_more", 0)
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
        naive = _naive(sim, portal, min(args.naive_n, sizes[-1]))
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
    finally:
        handle.stop()
        if not args.keep:
            from django.db import connections

            connections.close_all()
            _recreate_database(url, drop_only=True)


if __name__ == "__main__":
    sys.exit(main())
