"""``python -m sfsim --port 8765 [--host 127.0.0.1] [--cert-dir .sfsim] [--latency-ms 0] [--seed FILE]``

Runs the simulator in the foreground and prints its base URL and the CA bundle to trust.
``--seed`` loads records into the org at start: a JSON object of object name → list of
records (``{"Contact": [{"Id": "003…", "Email": "…"}], "Lead": […]}``), as the control
API's ``seed`` takes them; ``make run`` uses it for the demo org.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from . import ids
from .server import start


def seed_org(control, seed: dict, *, source: str) -> None:
    """Load ``{object: [records]}``; a record whose Id came earlier is skipped with a warning.

    Salesforce IDs are unique, so the second record could never exist; the portal's data may
    still name one ID twice (two contacts with one Donor ID), and that must not stop the demo.
    """
    for obj, records in seed.items():
        seen, kept = set(), []
        for n, record in enumerate(records, start=1):
            rec_id = ids.to18(record["Id"]) if record.get("Id") else None
            if rec_id is not None and rec_id in seen:
                print(f"Warning: skipped {obj} record {n} of {source}: Id {record['Id']} is already seeded", flush=True)
                continue
            seen.add(rec_id)
            kept.append(record)
        control.seed(obj, kept)
        print(f"Seeded {len(kept)} {obj} record(s) from {source}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sfsim", description="Local Salesforce simulator (HTTPS).")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--cert-dir", default=".sfsim", help="where ca.pem is written (and reused from)")
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every REST call")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    parser.add_argument("--seed", help="JSON file of records to load at start ({object: [records]})")
    args = parser.parse_args(argv)
    seed = None
    if args.seed:
        try:
            with open(args.seed, encoding="utf-8") as f:
                seed = json.load(f)
        except (OSError, ValueError) as e:
            parser.error(f"--seed {args.seed}: {e}")

    sim = start(port=args.port, host=args.host, cert_dir=args.cert_dir, latency_ms=args.latency_ms, verbose=args.verbose)
    cfg = sim.org.config
    if seed:
        seed_org(sim.control(), seed, source=args.seed)
    print(f"sfsim listening on {sim.url}", flush=True)
    print(f"CA bundle: {sim.ca_path}", flush=True)
    print(f"OAuth client id: {cfg['client_id']}  secret: {cfg['client_secret']}", flush=True)
    print(f"Org {sim.org.org_id}, user {cfg['username']}; control API at {sim.url}/_sim/", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
