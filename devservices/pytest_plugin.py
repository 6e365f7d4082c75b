"""The test session's PostgreSQL and Redis (loaded with ``-p devservices.pytest_plugin``).

Runs before pytest-django reads the settings (``tryfirst`` on ``pytest_load_initial_conftests``)
and sets ``DATABASE_URL`` and ``TEST_REDIS_URL`` for this process and every process it starts.
With pytest-xdist the controller chooses and starts the servers once; its workers inherit the
environment (``THANKVIEW_TEST_SERVICES`` says the choice was made) and pytest-django gives each
worker its own database on the one server. Real Celery workers in tests get the same URLs.
"""

from __future__ import annotations

import atexit
import os

import pytest

from . import choose

MARK = "THANKVIEW_TEST_SERVICES"
_owned: list[choose.Services] = []


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    if os.environ.get(MARK):
        return  # an xdist worker: the controller chose already
    services = choose.for_tests()
    _owned.append(services)
    atexit.register(services.stop)  # also when pytest stops before unconfigure
    os.environ["DATABASE_URL"] = services.database_url
    os.environ["TEST_REDIS_URL"] = services.redis_url
    os.environ[MARK] = services.summary()


def pytest_report_header(config):
    return f"services: {os.environ.get(MARK, 'not chosen')}"


def pytest_unconfigure(config):
    while _owned:
        _owned.pop().stop()
