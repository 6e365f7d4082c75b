"""``make bench``: every benchmark of the project, one after the other, and a generated table.

    .venv/bin/python -m benchmarks.run [--latency-ms 50] [--only NAME,...] [--no-readme]

Runs each benchmark as its own process (each creates and drops its own database; the
Salesforce ones start sfsim with ``--latency-ms`` per REST call):

| name | what |
|---|---|
| contacts_pages | contacts pages at 100,000 contacts |
| ingest | event ingestion (batch API, open pixel) under gunicorn |
| salesforce_connection | Salesforce client round trips, banners at 100,000 contacts |
| progress_funnel | campaign funnel and progress reads at 100,000 sends |
| sync_collections | sync of 10,000 sends via sObject Collections (sizes 1,000 / 5,000 / 10,000) |
| sync_bulk | support re-sync of 100,000 sends via Bulk API 2.0 (and 10,000, for RSS flatness) |
| many_portals | 8 portals × 1,000 sends on two Celery workers (Redis broker) |

Then rewrites the generated section of ``benchmarks/README.md`` (between the
``make-bench`` markers; the other sections are kept) with: API calls, the lower bound for
that N, wall time, peak memory, and a naive baseline measured in the same run (one REST call
per record, measured on a sample and extrapolated), so every figure is a ratio to something;
and each other benchmark's own verdict line. The full output of each benchmark is kept in
``benchmarks/results/<name>.log`` (not committed). Exits non-zero if a benchmark fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
RESULTS = HERE / "results"
START, END = "<!-- make-bench:start -->", "<!-- make-bench:end -->"
DB_BASE = os.environ.get("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432")


def _benchmarks(latency: int) -> list[tuple[str, list[str]]]:
    lat = ["--latency-ms", str(latency)]
    return [
        ("contacts_pages", []),
        ("ingest", []),
        ("salesforce_connection", []),
        ("progress_funnel", []),
        ("sync_collections", ["--n", "10000", "--sizes", "1000,5000", *lat]),
        ("sync_bulk", ["--n", "100000", "--sizes", "10000", "--backfill-n", "100000", *lat,
                       "--json", str(RESULTS / "sync_bulk.json")]),
        ("many_portals", ["--portals", "8", "--sends", "1000", *lat, "--json", str(RESULTS / "many_portals.json")]),
    ]


def _run(name: str, args: list[str]) -> dict:
    """Run one benchmark; returns its exit code, wall time, peak RSS (of the benchmark
    process tree as the kernel reports it to the parent) and output."""
    cmd = [sys.executable, "-m", f"benchmarks.{name}", *args]
    print(f"== {' '.join(['python', '-m', f'benchmarks.{name}', *args])}", flush=True)
    t0 = time.perf_counter()
    log = RESULTS / f"{name}.log"
    with open(log, "w") as out:
        # A database of its own per benchmark, so that `make bench` never drops the database
        # of a benchmark someone is running by hand at the same time.
        env = {**os.environ, "BENCH_DATABASE_URL": f"{DB_BASE}/tv_bench_make_{name}"}
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=HERE.parent, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    text = log.read_text()
    tail = "\n".join(text.strip().splitlines()[-3:])
    print(f"   exit {proc.returncode} in {wall:.0f} s\n   {tail.replace(chr(10), chr(10) + '   ')}", flush=True)
    return {"name": name, "cmd": cmd, "code": proc.returncode, "wall": wall, "rss_mb": usage.ru_maxrss / 1024, "out": text}


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def _collections_rows(out: str) -> list[dict]:
    rows = []
    pat = re.compile(
        r"N=\s*(?P<n>\d+): (?P<outcome>\w+) created (?P<created>\d+).*?API calls (?P<calls>\d+) .*?vs lower bound "
        r"(?P<lower>\d+).*?wall (?P<wall>[\d.]+) s.*?peak RSS (?P<rss>\d+) MB"
    )
    for m in pat.finditer(out):
        rows.append({k: (_num(v) if k not in ("outcome",) else v) for k, v in m.groupdict().items()})
    naive = re.search(r"Naive baseline.*?: (?P<k>\d+) records in (?P<wall>[\d.]+) s", out)
    if naive and rows:
        per = _num(naive["wall"]) / _num(naive["k"])
        for r in rows:
            r["naive_calls"], r["naive_wall"], r["naive_sample"] = r["n"], per * r["n"], int(_num(naive["k"]))
    return rows


def _fmt_s(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


def _naive_cells(row: dict) -> str:
    """The last two cells of a Bulk row: its naive baseline and the ratios to it."""
    nv = row["naive"]
    return (
        f"{nv['calls']:,} calls, {_fmt_s(nv['wall'])} (sample of {nv['sample']}, extrapolated) | "
        f"{nv['calls'] / row['calls']:,.0f}× fewer calls, {nv['wall'] / row['wall']:.0f}× faster |"
    )


def _table(results: dict, latency: int) -> list[str]:
    lines = [
        "| benchmark | N | API calls | lower bound | calls ÷ bound | wall time | peak RSS | naive baseline (1 REST call per record) | vs naive |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    col = results.get("sync_collections")
    if col:
        for r in _collections_rows(col["out"]):
            lines.append(
                f"| sync via sObject Collections | {int(r['n']):,} | {int(r['calls'])} | {int(r['lower'])} | "
                f"{r['calls'] / r['lower']:.2f}× | {r['wall']:.1f} s | {r['rss']:.0f} MB | "
                f"{int(r.get('naive_calls', 0)):,} calls, {_fmt_s(r.get('naive_wall', 0))} (sample of {r.get('naive_sample', 0)}, extrapolated) | "
                f"{r.get('naive_calls', 0) / r['calls']:.0f}× fewer calls, {r.get('naive_wall', 0) / r['wall']:.0f}× faster |"
            )
    bulk_file = RESULTS / "sync_bulk.json"
    if "sync_bulk" in results and bulk_file.exists():
        data = json.loads(bulk_file.read_text())
        for r in data["rows"]:
            lines.append(
                f"| re-sync via Bulk API 2.0 | {r['n']:,} | {r['calls']} | {r['lower_bound']} | "
                f"{r['calls'] / r['lower_bound']:.2f}× | {r['wall']:.1f} s | {r['rss_peak_mb']:.0f} MB | "
                + _naive_cells(r)
            )
        b = data.get("backfill")
        if b:
            lines.append(
                f"| first backfill via Bulk API 2.0 (matching: {b['queries']} calls) | {b['n']:,} | {b['calls']} | "
                f"{b['lower_bound']} | {b['calls'] / b['lower_bound']:.2f}× | {b['wall']:.1f} s | {b['rss_peak_mb']:.0f} MB | "
                + _naive_cells(b)
            )
    mp_file = RESULTS / "many_portals.json"
    if "many_portals" in results and mp_file.exists():
        m = json.loads(mp_file.read_text())
        nv = m["naive"]
        rss = max(m["rss_mb"].values()) if m["rss_mb"] else 0
        lines.append(
            f"| {m['portals']} portals on {m['workers']} workers | {m['total']:,} | {m['calls']} | {m['lower_bound']} | "
            f"{m['calls'] / m['lower_bound']:.2f}× | {m['wall']:.1f} s ({m['speedup']:.2f}× vs {m['serial']:.1f} s of runs "
            f"one after another) | {rss:.0f} MB per worker | {nv['calls']:,} calls, {_fmt_s(nv['wall'])} (sample of "
            f"{nv['sample']}, extrapolated) | {nv['calls'] / m['calls']:.0f}× fewer calls, {nv['wall'] / m['wall']:.0f}× faster |"
        )
    return lines


def _verdicts(results: dict) -> list[str]:
    pick = {
        "contacts_pages": r"slowest median .*",
        "ingest": r"(POST /api/v1/events: .*|GET /t/<token>/open.gif: .*|targets: .*)",
        "salesforce_connection": r"\| client (describe|collection_create).*",
        "progress_funnel": r"(\| campaign_funnel.*|\| naive.*|funnel: .*|background import of .*)",
        "sync_collections": r"(Naive baseline.*|Peak RSS by N.*|targets: .*)",
        "sync_bulk": r"(Naive baseline.*|Backfill N=.*|Peak RSS by N.*|targets: .*)",
        "many_portals": r"(\d+ portals × .*|targets: .*)",
    }
    lines = ["| benchmark | exit | wall | peak RSS of the benchmark process (incl. in-process sfsim, seeding) | its own verdict |", "|---|---:|---:|---:|---|"]
    for name, r in results.items():
        found = [m.group(0).strip() for m in re.finditer(pick.get(name, r"targets: .*"), r["out"])]
        verdict = "<br>".join(x.replace("|", "\\|") for x in found[:4]) or "(see log)"
        lines.append(f"| `{name}` | {r['code']} | {r['wall']:.0f} s | {r['rss_mb']:.0f} MB | {verdict} |")
    return lines


def _write_readme(results: dict, latency: int, total_wall: float, argv: list[str]) -> None:
    cpu = os.cpu_count()
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "make bench" + (f"  (python -m benchmarks.run {' '.join(argv)})" if argv else "  (= .venv/bin/python -m benchmarks.run)")
    body = [
        START,
        "## All benchmarks: `make bench` (generated — do not edit by hand)",
        "",
        (f"Command: `{command}` — {when}, {cpu} CPUs, Python {platform.python_version()}, PostgreSQL and Redis on "
        f"localhost, sfsim with **{latency} ms per REST call** and a user without View Setup (`/limits` refused; runs "
        "never call it); whole run {total_wall / 60:.1f} min. Every figure is "
        "measured in this run; the naive baselines are measured on a sample in the same run and extrapolated "
        "linearly (one REST call per record, serial), as marked."),
        "",
        ("Lower bounds: sObject Collections (`sync_collections`) = ⌈N/200⌉ writes + the matching calls the run "
        "needed (GET queries and `/composite` calls, counted at the simulator); many portals = the same plus one describe per portal; Bulk API 2.0 "
        "= describe + 5 per job (create, upload, "
        "UploadComplete, one poll, successful results), + the matching calls for a first backfill. Peak RSS is the syncing process's own high-water mark (VmHWM): "
        "the child process that runs the sync, or each Celery worker."),
        "",
        *_table(results, latency),
        "",
        ("Targets (issue 6): 100,000 sends via Bulk in ≤ 30 API calls; Collections ≤ 1.2 × its lower bound; peak "
        "RSS flat as N grows."),
        "",
        "Each benchmark's own figures (full output in `benchmarks/results/<name>.log`):",
        "",
        *_verdicts(results),
        END,
    ]
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        text = before + "\n".join(body) + after
    else:
        text = text.rstrip() + "\n\n" + "\n".join(body) + "\n"
    README.write_text(text)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    t0 = time.perf_counter()
    results = {}
    for name, bench_args in _benchmarks(args.latency_ms):
        if only and name not in only:
            continue
        results[name] = _run(name, bench_args)
    total = time.perf_counter() - t0
    for line in _table(results, args.latency_ms):
        print(line)
    if not args.no_readme:
        _write_readme(results, args.latency_ms, total, argv)
        print(f"benchmarks/README.md updated ({total / 60:.1f} min in all)")
    return 0 if all(r["code"] == 0 for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
