"""Which PostgreSQL and Redis a command uses: the one it was given, the machine's, or an embedded one.

Order, for each server on its own: a URL from the environment wins; else the machine's default
server (PostgreSQL on 127.0.0.1:5432 as ``postgres`` with trust, Redis on 127.0.0.1:6379) when it
answers; else an embedded server started here. ``Services.stop()`` stops only what was started.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .postgres import EmbeddedPostgres
from .redis_server import EmbeddedRedis

MACHINE_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/thankview"
MACHINE_REDIS_URL = "redis://127.0.0.1:6379/15"


def postgres_answers(url: str) -> bool:
    """True when the server of ``url`` accepts a connection (to its ``postgres`` database)."""
    import environ
    import psycopg2

    cfg = environ.Env.db_url_config(url)
    try:
        psycopg2.connect(
            host=cfg["HOST"] or None, port=cfg["PORT"] or None, user=cfg["USER"] or None,
            password=cfg["PASSWORD"] or None, dbname="postgres", connect_timeout=2,
        ).close()
        return True
    except psycopg2.Error:
        return False


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2).ping())
    except (redis.RedisError, OSError):
        return False


@dataclass
class Services:
    """The chosen URLs, a line saying what each is, and the embedded servers to stop."""

    database_url: str = ""
    redis_url: str = ""
    database_source: str = ""
    redis_source: str = ""
    started: list = field(default_factory=list)
    temp_dir: Path | None = None

    def summary(self) -> str:
        return f"PostgreSQL: {self.database_source}; Redis: {self.redis_source}"

    def stop(self) -> None:
        for server in reversed(self.started):
            server.stop()
        self.started.clear()
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)
            self.temp_dir = None


def for_tests(environ=os.environ) -> Services:
    """The test session's servers: ``TEST_DATABASE_URL`` / ``TEST_REDIS_URL``, the machine's, or
    embedded ones under a temporary directory (fast, not durable; deleted by ``stop()``)."""
    s = Services()
    try:
        s.database_url, s.database_source = _given_or_machine(
            environ.get("TEST_DATABASE_URL", ""), "TEST_DATABASE_URL", MACHINE_DATABASE_URL, postgres_answers
        )
        if not s.database_url:
            pg = EmbeddedPostgres(_temp(s) / "postgres", durable=False).start()
            s.started.append(pg)
            s.database_url, s.database_source = pg.url("thankview"), pg.describe()
        s.redis_url, s.redis_source = _given_or_machine(
            environ.get("TEST_REDIS_URL", ""), "TEST_REDIS_URL", MACHINE_REDIS_URL, redis_answers
        )
        if not s.redis_url:
            rd = EmbeddedRedis(_temp(s) / "redis").start()
            s.started.append(rd)
            s.redis_url, s.redis_source = rd.url(15), rd.describe()
    except BaseException:
        s.stop()
        raise
    return s


def _given_or_machine(given, name, machine_url, answers):
    if given:
        return given, f"{_safe(given)} ({name})"
    if answers(machine_url):
        return machine_url, f"{machine_url} (the machine's)"
    return "", ""


def _temp(s: Services) -> Path:
    if s.temp_dir is None:
        s.temp_dir = Path(tempfile.mkdtemp(prefix="thankview-test-services-"))
        # PostgreSQL runs as an unprivileged user when we are root: let it reach its folder.
        s.temp_dir.chmod(0o755)
    return s.temp_dir


def _safe(url: str) -> str:
    """The URL without its password, for the test header."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url
