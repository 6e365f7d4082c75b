"""``python -m devservices run [--data-dir .data] -- CMD [ARG...]``: CMD with the demo's servers.

``make run`` and ``./manage`` use it. PostgreSQL keeps its data in ``.data/postgres`` (so a
second ``make run`` finds everything the first left) and Redis, the Celery broker and cache, keeps
an append-only file in ``.data/redis``. ``DATABASE_URL``, ``CELERY_BROKER_URL`` and ``CACHE_URL``
from the environment override: a server is started only for what is not set.

While one ``run`` holds the servers, it records their URLs in ``.data/services.json``; a second
``run`` (``./manage`` beside ``make run``) uses those instead of starting its own. The servers
stop when the command that started them ends (Ctrl-C included).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from .postgres import EmbeddedPostgres
from .redis_server import EmbeddedRedis

DATABASE_NAME = "thankview"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _running_state(state_file: Path) -> dict | None:
    try:
        state = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return None
    return state if _alive(int(state.get("pid", 0))) else None


def demo_environment(data_dir: Path, environ=os.environ) -> tuple[dict, list]:
    """The variables to add for the demo, and the servers started for them (to stop later)."""
    state_file = data_dir / "services.json"
    running = _running_state(state_file)
    if running:
        return {k: v for k, v in running["env"].items() if not environ.get(k)}, []
    env, started = {}, []
    try:
        if not environ.get("DATABASE_URL"):
            pg = EmbeddedPostgres(data_dir / "postgres", log_path=data_dir / "postgres.log").start()
            started.append(pg)
            pg.ensure_database(DATABASE_NAME)
            env["DATABASE_URL"] = pg.url(DATABASE_NAME)
        if not (environ.get("CELERY_BROKER_URL") and environ.get("CACHE_URL")):
            rd = EmbeddedRedis(data_dir / "redis", durable=True, log_path=data_dir / "redis.log").start()
            started.append(rd)
            if not environ.get("CELERY_BROKER_URL"):
                env["CELERY_BROKER_URL"] = rd.url(0)
            if not environ.get("CACHE_URL"):
                env["CACHE_URL"] = rd.url(1)
    except BaseException:
        for server in reversed(started):
            server.stop()
        raise
    if started:
        state_file.write_text(json.dumps({"pid": os.getpid(), "env": env}))
        for server in started:
            print(f"devservices: {server.describe()}", flush=True)
    return env, started


def run(command: list[str], data_dir: Path) -> int:
    data_dir.mkdir(parents=True, exist_ok=True)
    env, started = demo_environment(data_dir)
    try:
        child = subprocess.Popen(command, env={**os.environ, **env})
        # `kill` or a supervisor's SIGTERM: the command stops first, then the servers (below).
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                # Ctrl-C reaches the whole foreground group: the command stops itself; wait for it
                # so that the database outlives its clients.
                continue
    finally:
        if started:
            (data_dir / "services.json").unlink(missing_ok=True)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            for server in reversed(started):
                server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devservices")
    sub = parser.add_subparsers(dest="action", required=True)
    p_run = sub.add_parser("run", help="run a command with the demo's PostgreSQL and Redis")
    p_run.add_argument("--data-dir", default=".data", type=Path)
    p_run.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give a command after --")
    return run(command, args.data_dir.resolve())


if __name__ == "__main__":
    sys.exit(main())
