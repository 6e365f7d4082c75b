"""Salesforce connection: banner cost per page and client round trips against sfsim.

    .venv/bin/python -m benchmarks.salesforce_connection [--contacts 100000] [--runs 200]

1. Creates its own PostgreSQL database (``BENCH_DATABASE_URL``, default
   postgres://postgres@127.0.0.1:5432/tv_bench_sfconn), migrates, seeds one portal with N
   contacts (3 % with an invalid Donor ID) and a second portal with N/10, VACUUM ANALYZE.
2. Starts sfsim in-process and connects the portal through the real OAuth flow
   (authorize → callback → token exchange → identity → describe).
3. Times ``integrations.salesforce.banners.banners`` (what every portal page pays for the
   banners) with a stored error and the invalid-Donor-ID count: median/p95 and queries.
4. Times client calls over HTTPS to sfsim (latency 0, so this is our overhead plus the
   local TLS round trip): describe, limits, a 200-record Collections create, and a call
   that meets an expired session (401 → refresh grant → retry).
5. Times a fully failing call (503 on every attempt) with the default retry settings, i.e.
   how long a run waits before giving up and showing "Unable to connect".
6. Drops the database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from benchmarks.common import drop_database, recreate_database, setup_django, timed
from benchmarks.contacts_pages import _rows

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tv_bench_sfconn"


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--contacts", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args(argv)
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    recreate_database(url)
    try:
        setup_django(url)
        _run(args)
    finally:
        drop_database(url)


def _run(args):
    import random
    from urllib.parse import parse_qsl, urlsplit

    import requests
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client, RequestFactory
    from django.test.utils import CaptureQueriesContext

    from contacts import services as contact_services
    from integrations.models import SalesforceConnection
    from integrations.salesforce import errors
    from integrations.salesforce.banners import banners, connection_record_error
    from integrations.salesforce.client import SalesforceClient
    from sfsim.control import SimControl
    from sfsim.server import start
    from thankview.services import portal_create_or_update

    call_command("migrate", verbosity=0)
    rng = random.Random(7)
    portal, admin, _ = portal_create_or_update(slug="bench", name="Bench", admin_email="bench@bench.example", admin_password="x" * 12)
    other, _, _ = portal_create_or_update(slug="other", name="Other", admin_email="o@other.example")
    t = time.perf_counter()
    contact_services.contact_upsert_many(portal=portal, rows=_rows(args.contacts, rng, "bench.example"))
    contact_services.contact_upsert_many(portal=other, rows=_rows(args.contacts // 10, rng, "other.example"))
    print(f"seeded {args.contacts} + {args.contacts // 10} contacts in {time.perf_counter() - t:.1f} s")
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")

    sim_handle = start(port=0, latency_ms=0)
    try:
        settings.SALESFORCE_LOGIN_URL = settings.SALESFORCE_SANDBOX_URL = sim_handle.url
        settings.SALESFORCE_CA_BUNDLE = str(sim_handle.ca_path)
        settings.SALESFORCE_USES_SIMULATOR = True
        settings.SALESFORCE_CLIENT_ID, settings.SALESFORCE_CLIENT_SECRET = "sfsim-client-id", "sfsim-client-secret"
        sim = SimControl(sim_handle.url, sim_handle.ca_path)

        client = Client()
        client.force_login(admin)
        t = time.perf_counter()
        auth = client.post("/bench/integrations/salesforce/connect/", {"environment": "production"})["Location"]
        parts = urlsplit(auth)
        cb = requests.post(f"{sim_handle.url}{parts.path}", data={**dict(parse_qsl(parts.query)), "action": "allow"},
                           verify=sim_handle.ca_path, allow_redirects=False, timeout=10).headers["Location"]
        cbp = urlsplit(cb)
        client.get(f"{cbp.path}?{cbp.query}")
        conn = SalesforceConnection.objects.get(portal=portal)
        assert conn.status == "connected", conn.error_message
        print(f"OAuth connect (authorize, token, identity, describe, checklist): {(time.perf_counter() - t) * 1000:.0f} ms")

        connection_record_error(connection=conn, error=errors.PermissionDenied("API disabled", code="API_DISABLED_FOR_ORG"))
        req = RequestFactory().get("/bench/contacts/")
        req.portal, req.membership = portal, portal.memberships.get(user=admin)
        with CaptureQueriesContext(connection) as q:
            shown = banners(req)["salesforce_banners"]
        med, p95 = timed(lambda: banners(req), args.runs, warmups=3)
        invalid = next(b["count"] for b in shown if b["kind"] == "invalid_id")
        print("| measurement | median ms | p95 ms | notes |\n|---|---:|---:|---|")
        print(f"| banners context processor ({args.contacts:,} contacts, {invalid:,} invalid) | {med:.2f} | {p95:.2f} | {len(q.captured_queries)} queries, {len(shown)} banners |")

        sf = SalesforceClient(conn)
        for label, fn in [
            ("describe ThankView__c", lambda: sf.describe("ThankView__c")),
            ("limits", lambda: sf.limits()),
        ]:
            med, p95 = timed(fn, min(args.runs, 100), warmups=3)
            print(f"| client {label} over HTTPS | {med:.2f} | {p95:.2f} | 1 REST call |")
        recs = [{"Event_Name__c": f"Bench {i}", "Opened__c": True, "Views__c": i} for i in range(200)]
        med, p95 = timed(lambda: sf.collection_create(recs), 20, warmups=3)
        print(f"| client collection_create 200 records | {med:.2f} | {p95:.2f} | 1 REST call |")

        def expired_call():
            sim.fault("expire_sessions")
            c = SalesforceClient(SalesforceConnection.objects.get(pk=conn.pk))
            c.limits()
            assert c.api_calls == 2

        med, p95 = timed(expired_call, 20, warmups=3)
        print(f"| call meeting an expired session (401, refresh grant, retry, store) | {med:.2f} | {p95:.2f} | 2 REST calls + 1 token call |")

        sim.fault("unavailable")
        waits = []
        for _ in range(5):
            c = SalesforceClient(conn)
            t = time.perf_counter()
            try:
                c.limits()
            except errors.Unavailable:
                waits.append(time.perf_counter() - t)
        sim.clear_faults()
        print(f"| give up on 503 ({settings.SALESFORCE_RETRY_ATTEMPTS} attempts, base {settings.SALESFORCE_RETRY_BASE_SECONDS} s, "
              f"max wait {settings.SALESFORCE_RETRY_MAX_WAIT_SECONDS} s) | {statistics.median(waits) * 1000:.0f} | {max(waits) * 1000:.0f} | max of 5 |")
    finally:
        sim_handle.stop()


if __name__ == "__main__":
    sys.exit(main())
