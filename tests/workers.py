"""Real Celery worker (and beat) subprocesses for the ``@pytest.mark.worker`` tests.

``celery_processes(...)`` starts them against a real Redis broker with the test database and
the simulator, yields a handle (``alive()``, ``dump()``), and always stops them (terminate,
then kill) when the block ends. Used by tests/sync/test_worker.py and tests/scale.
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from urllib.parse import quote, urlsplit

from django.conf import settings


def redis_broker(db: int) -> str:
    """A broker URL on the test Redis (``TEST_REDIS_URL``'s host), database ``db``.

    Each worker test module uses its own database number so that modules run in parallel
    never share a queue; the module's ``*_TEST_BROKER_URL`` variable overrides it whole.
    """
    base = urlsplit(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    return base._replace(path=f"/{db}").geturl()


def db_url() -> str:
    """The test database as a ``DATABASE_URL`` for a subprocess (TCP, or the embedded server's socket)."""
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    if db["HOST"].startswith("/"):  # a unix socket folder, in the form django-environ reads
        return f"postgres://{auth}@/{quote(db['HOST'])}/{db['NAME']}"
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Processes:
    def __init__(self):
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict = {}

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.procs.values())

    def log_text(self, name: str) -> str:
        f = self.logs[name]
        f.flush()
        f.seek(0)
        return f.read()

    def dump(self, tail: int = 4000) -> str:
        return "\n".join(f"--- {name} ---\n{self.log_text(name)[-tail:]}" for name in self.logs)


@contextmanager
def celery_processes(*, broker: str, tmp_path, sfsim, workers: int = 1, beat: bool = False, env: dict | None = None):
    """Start ``workers`` worker processes (solo pool, one task at a time each) and optionally
    beat; stop them all on exit."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    full_env.update(
        DJANGO_SETTINGS_MODULE="thankview.test_settings",
        DATABASE_URL=db_url(),
        CONN_MAX_AGE="0",
        CELERY_BROKER_URL=broker,
        CELERY_TASK_ALWAYS_EAGER="false",
        SALESFORCE_SIMULATOR_URL=sfsim.url,
        SALESFORCE_CA_BUNDLE=sfsim.ca_path,
    )
    full_env.update(env or {})
    celery = [sys.executable, "-m", "celery", "-A", "thankview"]
    commands = {
        f"worker{i + 1}": [
            *celery, "worker", "--pool=solo", "--without-gossip", "--without-mingle", "--loglevel=INFO",
            f"--hostname=worker{i + 1}@%h",
        ]
        for i in range(workers)
    }
    if beat:
        commands["beat"] = [*celery, "beat", "--loglevel=INFO", "--max-interval=1", f"--pidfile={tmp_path / 'beat.pid'}"]
    handle = Processes()
    try:
        for name, cmd in commands.items():
            handle.logs[name] = open(tmp_path / f"{name}.log", "w+")  # noqa: SIM115 (closed below)
            handle.procs[name] = subprocess.Popen(
                cmd, env=full_env, stdout=handle.logs[name], stderr=subprocess.STDOUT, cwd=settings.BASE_DIR
            )
        yield handle
    finally:
        for p in handle.procs.values():
            p.terminate()
        for p in handle.procs.values():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        for f in handle.logs.values():
            f.close()
