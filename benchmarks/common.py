"""What the benchmarks share, so that each script holds only what it measures.

- Their own PostgreSQL database: ``recreate_database`` / ``database_exists`` and
  ``setup_django`` (test settings on that database).
- ``sfsim_benchmark``: own database, sfsim in this process with a latency per REST call,
  Django migrated; stops sfsim and drops the database on the way out.
- ``portal_connect``: a portal connected through the simulator's real OAuth flow, sync
  enabled; ``sends_seed``: contacts with one Send and one ``opened`` event each (due sends).
- ``sync_measured`` / ``sync_in_child``: ONE sync run (``sync_portal_run``, the code beat runs) in a fresh
  process, so its peak RSS is the sync's own; ``python -m benchmarks.common --child-sync ID``
  is that child. ``BENCH_SQL_TIMING=1`` prints where the run spends its database time,
  ``BENCH_PROFILE=PATH`` writes a cProfile of it.
- ``naive_rest_writes``: the baseline, one REST call per record.
- ``vm_hwm_mb`` (peak RSS) and ``timed`` (median and p95 of a callable).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import urlparse, urlunparse

# --- the benchmark's own database -----------------------------------------------------------


def _admin_url(url):
    parts = urlparse(url)
    return urlunparse(parts._replace(path="/postgres")), parts.path.lstrip("/")


def database_exists(url):
    import psycopg2

    admin, name = _admin_url(url)
    with psycopg2.connect(admin) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return cur.fetchone() is not None


def recreate_database(url, *, drop_only=False):
    import psycopg2
    from psycopg2 import sql

    admin, name = _admin_url(url)
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if not drop_only:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conn.close()


def drop_database(url):
    """Close Django's connections (if Django is set up) and drop the database."""
    from django.apps import apps

    if apps.ready:
        from django.db import connections

        connections.close_all()
    recreate_database(url, drop_only=True)


def setup_django(url):
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "thankview.test_settings")
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # lets the test Client in (ALLOWED_HOSTS) and keeps email local


# --- measuring ----------------------------------------------------------------------------


def vm_hwm_mb(pid="self") -> float:
    """Peak RSS (VmHWM) of a process. Unlike ``ru_maxrss``, which Linux carries over ``exec``
    from the (large) parent, VmHWM starts fresh in a child. 0 when the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def timed(fn, runs, *, warmups=2):
    """``(median, p95)`` in milliseconds of ``runs`` calls of ``fn``, after ``warmups`` calls."""
    for _ in range(warmups):
        fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


# --- sfsim and a connected portal ---------------------------------------------------------


@contextmanager
def sfsim_benchmark(*, url, latency_ms, keep=False, env=None):
    """Own database (recreated), sfsim in this process with ``latency_ms`` per REST call, Django
    set up on the database and migrated; yields ``(handle, sim)``. ``env``: settings read from
    the environment (set before Django reads them). On exit sfsim stops and the database is
    dropped unless ``keep``."""
    recreate_database(url)
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # they would override the simulator's CA
        os.environ.pop(name, None)
    from sfsim.control import SimControl
    from sfsim.server import start

    # The integration user lacks View Setup (sfsim.lockdown): /limits is refused, as in a
    # least-privilege customer org; the sync's budget comes from Sforce-Limit-Info alone.
    handle = start(port=0, latency_ms=latency_ms, view_setup=False)
    try:
        os.environ.update(SALESFORCE_CA_BUNDLE=handle.ca_path, SALESFORCE_SIMULATOR_URL=handle.url, **(env or {}))
        setup_django(url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        yield handle, SimControl(handle.url, handle.ca_path)
    finally:
        handle.stop()
        if not keep:
            drop_database(url)


def portal_connect(sim, *, name, slug, enabled_days_ago=1):
    """A new portal connected to the simulator's org through its real OAuth flow (authorize +
    token exchange), sync enabled ``enabled_days_ago`` days ago; returns its connection."""
    from django.utils import timezone

    from integrations.models import SalesforceConnection
    from integrations.salesforce import oauth
    from thankview.models import Portal

    token = sim.connect()
    org_id, user_id = oauth.ids_from_identity_url(token["id"])
    portal = Portal.objects.create(name=name, slug=slug)
    conn = SalesforceConnection(
        portal=portal, status="connected", login_url=sim.url, instance_url=token["instance_url"], org_id=org_id,
        user_id=user_id, sync_enabled=True, sync_enabled_at=timezone.now() - timedelta(days=enabled_days_ago),
    )
    conn.access_token, conn.refresh_token = token["access_token"], token["refresh_token"]
    conn.save()
    return conn


def sends_seed(*, campaign, people, sent_at, opened_after):
    """Contacts of the campaign's portal from ``people`` (``(email, last_name, donor_id)``), one
    Send each at ``sent_at`` and one ``opened`` event received ``opened_after`` later: due
    sends for the sync. Returns the Sends, in the order of ``people``."""
    from contacts.models import Contact, donor_id_fields, normalize_email, search_text_for
    from engagement.models import EngagementEvent, Send

    contacts = Contact.objects.bulk_create([
        Contact(portal_id=campaign.portal_id, email=email, email_normalized=normalize_email(email), last_name=last,
                search_text=search_text_for(first_name="", last_name=last, email=email, donor_id=donor),
                **donor_id_fields(donor))
        for email, last, donor in people
    ])
    sends = Send.objects.bulk_create([Send(campaign=campaign, contact=c, sent_at=sent_at) for c in contacts])
    EngagementEvent.objects.bulk_create([
        EngagementEvent(send=s, type="opened", occurred_at=sent_at, received_at=sent_at + opened_after) for s in sends
    ])
    return sends


# --- the sync in a child process ----------------------------------------------------------


def sync_measured(sim, prepare, n, *, url, env=None, **options):
    """``prepare(sim, n, **options)`` (returns the portal), then ONE sync of that portal in a
    child process, counted from a reset of the simulator's stats. Returns ``(portal, setup
    seconds, figures, simulator stats)``; figures are None when the child failed."""
    t0 = time.perf_counter()
    portal = prepare(sim, n, **options)
    setup = time.perf_counter() - t0
    sim.reset_stats()
    fig = sync_in_child(portal.pk, url=url, env=env)
    return portal, setup, fig, sim.stats()


def sync_in_child(portal_id, *, url, env=None):
    """Run ONE sync of the portal in a fresh process; returns its figures (see ``_child_sync``),
    or None after printing the child's output when it failed."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.common", "--child-sync", str(portal_id)],
        env={**os.environ, "DATABASE_URL": url, **(env or {})}, capture_output=True, text=True, check=False,
    )
    if out.returncode != 0 or os.environ.get("BENCH_SQL_TIMING"):
        print(out.stdout, out.stderr, file=sys.stderr)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def _child_sync(portal_id: int) -> None:
    """Runs in a fresh process: one sync run; prints a JSON line with the figures."""
    import django

    django.setup()
    from django.urls import get_resolver

    from integrations.models import BulkJob
    from integrations.salesforce.run import sync_portal_run
    from thankview.models import Portal

    portal = Portal.objects.get(pk=portal_id)
    # A worker is long-lived: its URLconf (imported by the first reverse()) is loaded before
    # any sync runs. Load it here too, so the figures are the sync's own.
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
    base_rss = vm_hwm_mb()
    t0 = time.perf_counter()
    run = sync_portal_run(portal=portal, trigger="benchmark").run
    wall = time.perf_counter() - t0
    for sql, (count, total) in sorted(sql_times.items(), key=lambda kv: -kv[1][1])[:12]:
        print(f"SQL {total * 1000:8.1f} ms {count:5d}x  {sql}", file=sys.stderr)
    jobs = list(BulkJob.objects.filter(run=run).values("operation", "rows", "state"))
    print(json.dumps({
        "wall": wall, "outcome": run.outcome, "error": run.error_message, "due": run.due, "created": run.created,
        "updated": run.updated, "unmatched": run.unmatched, "failed": run.failed, "client_calls": run.api_calls,
        "jobs": jobs, "rss_before_mb": base_rss, "rss_peak_mb": vm_hwm_mb(),
    }))


# --- the naive baseline -------------------------------------------------------------------


def naive_rest_writes(sim, portal, k: int, *, update=False) -> dict:
    """k of the portal's sends written one REST call per record, serially (what a simple
    integration would do): ``POST /sobjects/ThankView__c`` with the k first Contacts of the
    org, or with ``update`` a ``PATCH`` of each send's existing record by its id. Returns
    ``{"k", "wall", "calls"}`` (calls as the simulator counted them)."""
    from engagement.models import Send
    from engagement.selectors import send_states
    from integrations.models import SalesforceConnection, SalesforceRecord
    from integrations.salesforce.client import SalesforceClient
    from integrations.salesforce.mapping import build_values, mappings_for

    client = SalesforceClient(SalesforceConnection.objects.get(portal=portal))
    sends = list(Send.objects.filter(campaign__portal=portal).select_related("campaign", "contact").order_by("pk")[:k])
    states = send_states([s.pk for s in sends])
    mappings = mappings_for(portal)
    if update:
        records = dict(SalesforceRecord.objects.filter(send__in=sends).values_list("send_id", "record_id"))
        calls = [(s, "PATCH", f"sobjects/ThankView__c/{records[s.pk]}", {}) for s in sends]
    else:
        contact_ids = [r["Id"] for r in sim.records("Contact")[:k]]
        calls = [(s, "POST", "sobjects/ThankView__c/", {"Contact__c": cid}) for s, cid in zip(sends, contact_ids)]
    before = sim.stats()["api_calls"]
    t0 = time.perf_counter()
    for send, method, path, extra in calls:
        values = build_values(mappings, send=send, campaign=send.campaign, contact=send.contact, state=states[send.pk])
        client.sf.restful(path, method=method, json={**values, **extra})
    wall = time.perf_counter() - t0
    return {"k": k, "wall": wall, "calls": sim.stats()["api_calls"] - before}


def _main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="The child process of sync_in_child.")
    parser.add_argument("--child-sync", type=int, required=True)
    args = parser.parse_args(argv)
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        cProfile.runctx("_child_sync(args.child_sync)", globals(), locals(), os.environ["BENCH_PROFILE"])
    else:
        _child_sync(args.child_sync)
    return 0


if __name__ == "__main__":
    sys.exit(_main())
