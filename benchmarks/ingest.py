"""Sustained event ingestion under gunicorn (2 workers) on PostgreSQL.

    .venv/bin/python -m benchmarks.ingest [--seconds 10] [--api-clients 4] [--pixel-clients 16] [--keep]

1. Creates its own PostgreSQL database (``BENCH_DATABASE_URL``, default
   postgres://postgres@127.0.0.1:5432/tv_bench_ingest), dropping an old one, and migrates.
2. Seeds a portal with a campaign sent to ``--sends`` contacts (2,000) and an API key.
3. Starts ``gunicorn thankview.wsgi`` with 2 sync workers on 127.0.0.1 (loopback only),
   production settings (DEBUG off), and waits until it answers.
4. Batch API: ``--api-clients`` concurrent clients POST ``/api/v1/events`` with batches of
   500 events (all types, spread over every send) for ``--seconds``; events/s counts only
   events the server reported as stored.
5. Open pixel: ``--pixel-clients`` concurrent clients GET ``/t/<token>/open.gif`` round-robin
   over the sends' tokens for ``--seconds``; hits/s counts only 200 responses with the GIF.
6. Checks that the database holds exactly the events reported, stops gunicorn, drops the
   database unless ``--keep``, and exits non-zero if a target is missed
   (5,000 events/s through the API, 500 hits/s through the pixel).

Clients and server share the machine, so the figures are a lower bound for the server.
Not a timed test: it prints figures for benchmarks/README.md ("Event ingestion").
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks.common import recreate_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tv_bench_ingest"
HOST = "127.0.0.1"  # loopback only: this never talks to another machine
BATCH = 500
API_TARGET = 5000
PIXEL_TARGET = 500
ROOT = Path(__file__).resolve().parent.parent
TYPES = ["opened", "clicked", "started_watching", "finished_watching", "cta_clicked", "downloaded", "shared",
         "text_reply", "video_reply"]


def _env(url):
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="thankview.settings",
        DEBUG="false",
        SECRET_KEY="benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        FIELD_ENCRYPTION_KEYS="3IsmgnvSfCwc6cxc6hEiJlHLI6HC2ksiUNbMD6N_UtQ=",
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        SITE_URL=f"http://{HOST}",
        PYTHONWARNINGS="ignore:No directory at",  # whitenoise: no collectstatic needed here
    )
    return env


def _seed(url, sends):
    os.environ.update(_env(url))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from contacts.services import contact_upsert_many
    from engagement import services
    from thankview.services import portal_create_or_update

    portal, _, _ = portal_create_or_update(slug="bench", name="Bench University", admin_email="bench@example.org",
                                              admin_password="bench-password-1")
    contact_upsert_many(portal=portal, rows=[{"email": f"donor{i}@bench.example"} for i in range(sends)])
    campaign = services.campaign_create(portal=portal, name="Benchmark thanks", video_url="https://v.example/a.webm")
    from contacts.models import Contact

    # Sends are created directly (no delivery task): the benchmark measures ingestion only.
    from engagement.models import Send

    Send.objects.bulk_create([Send(campaign=campaign, contact=c) for c in Contact.objects.filter(portal=portal)])
    _, raw_key = services.apikey_create(portal=portal, name="Benchmark")
    rows = list(Send.objects.filter(campaign=campaign).values_list("pk", "token"))
    from django.db import connection

    connection.close()
    return raw_key, [pk for pk, _ in rows], [token for _, token in rows]


def _free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _start_gunicorn(url, port):
    cmd = [sys.executable, "-m", "gunicorn", "thankview.wsgi", "--workers", "2", "--bind", f"{HOST}:{port}",
           "--log-level", "warning", "--timeout", "60"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(url))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/api/v1/openapi.json")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("gunicorn did not start")


def _bodies(send_ids, count, rng):
    bodies = []
    for _ in range(count):
        events = []
        for _ in range(BATCH):
            type_ = rng.choice(TYPES)
            item = {"send_id": rng.choice(send_ids), "type": type_,
                    "occurred_at": f"2025-05-01T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z"}
            if type_ == "text_reply":
                item["text"] = "Thank you so much for the video!"
            elif type_ == "video_reply":
                item["url"] = "https://videos.example.org/reply.mp4"
            events.append(item)
        bodies.append(json.dumps({"events": events}).encode())
    return bodies


def _run_clients(n, seconds, work):
    """Run ``work(client_index, deadline)`` in n threads; returns (sum of results, elapsed)."""
    results = [None] * n
    deadline = time.monotonic() + seconds
    started = time.monotonic()

    def run(i):
        results[i] = work(i, deadline)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    totals = [sum(r[k] for r in results) for k in range(len(results[0]))]
    return totals, elapsed


def bench_api(port, raw_key, bodies, clients, seconds):
    headers = {"Authorization": f"Bearer {raw_key}", "Content-Type": "application/json"}

    def work(i, deadline):
        stored = failed = requests = 0
        k = i
        while time.monotonic() < deadline:
            conn = http.client.HTTPConnection(HOST, port, timeout=30)
            conn.request("POST", "/api/v1/events", body=bodies[k % len(bodies)], headers=headers)
            response = conn.getresponse()
            payload = response.read()
            conn.close()
            requests += 1
            k += clients
            if response.status == 200:
                body = json.loads(payload)
                stored += body["stored"]
                failed += len(body["errors"])
            else:
                failed += BATCH
        return stored, failed, requests

    return _run_clients(clients, seconds, work)


def bench_pixel(port, tokens, clients, seconds):
    def work(i, deadline):
        ok = bad = 0
        k = i
        while time.monotonic() < deadline:
            conn = http.client.HTTPConnection(HOST, port, timeout=30)
            conn.request("GET", f"/t/{tokens[k % len(tokens)]}/open.gif")
            response = conn.getresponse()
            body = response.read()
            conn.close()
            k += clients
            if response.status == 200 and body.startswith(b"GIF89a"):
                ok += 1
            else:
                bad += 1
        return ok, bad

    return _run_clients(clients, seconds, work)


def _count_events():
    from django.db import connection

    from engagement.models import EngagementEvent

    count = EngagementEvent.objects.count()
    connection.close()
    return count


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each phase (max 60)")
    parser.add_argument("--api-clients", type=int, default=4, help="concurrent API clients (max 32)")
    parser.add_argument("--pixel-clients", type=int, default=16, help="concurrent pixel clients (max 64)")
    parser.add_argument("--sends", type=int, default=2000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    seconds = min(max(args.seconds, 1.0), 60.0)
    api_clients = min(max(args.api_clients, 1), 32)
    pixel_clients = min(max(args.pixel_clients, 1), 64)
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)

    recreate_database(url)
    raw_key, send_ids, tokens = _seed(url, args.sends)
    rng = random.Random(2025)
    bodies = _bodies(send_ids, 24, rng)
    port = _free_port()
    server = _start_gunicorn(url, port)
    try:
        # Warm-up: both workers import everything and open their database connections.
        bench_api(port, raw_key, bodies, 2, 1.0)
        bench_pixel(port, tokens, 4, 1.0)
        warm_count = _count_events()

        (stored, failed, requests), api_elapsed = bench_api(port, raw_key, bodies, api_clients, seconds)
        (hits, bad), pixel_elapsed = bench_pixel(port, tokens, pixel_clients, seconds)
        total = _count_events()
    finally:
        server.terminate()
        server.wait(timeout=30)

    api_rate = stored / api_elapsed
    pixel_rate = hits / pixel_elapsed
    consistent = total - warm_count == stored + hits
    print(f"gunicorn 2 sync workers, PostgreSQL, {os.cpu_count()} CPUs shared with the clients; {len(send_ids)} sends")
    print(f"POST /api/v1/events: {api_clients} clients x {seconds:.0f} s, batches of {BATCH}: "
          f"{requests} requests, {stored:,} events stored, {failed} rejected -> {api_rate:,.0f} events/s "
          f"({requests / api_elapsed:.1f} batches/s, {1000 * api_elapsed * api_clients / max(requests, 1):.0f} ms per batch)")
    print(f"GET /t/<token>/open.gif: {pixel_clients} clients x {seconds:.0f} s: {hits:,} hits, {bad} failed "
          f"-> {pixel_rate:,.0f} hits/s")
    print(f"database check: {total - warm_count:,} new events stored = {stored:,} + {hits:,} reported: "
          f"{'ok' if consistent else 'MISMATCH'}")
    if not args.keep:
        recreate_database(url, drop_only=True)
    ok = api_rate >= API_TARGET and pixel_rate >= PIXEL_TARGET and consistent and not failed and not bad
    print(f"targets: >= {API_TARGET:,} events/s {'pass' if api_rate >= API_TARGET else 'MISS'}, "
          f">= {PIXEL_TARGET} hits/s {'pass' if pixel_rate >= PIXEL_TARGET else 'MISS'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
