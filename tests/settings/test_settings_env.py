"""Settings come from the environment, fail fast, and pass `check --deploy` in production."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "SECRET_KEY": "q8X!vN2#pL7@wR4$tY6%uI9^oP1&aS3*dF5(gH8)jK0-zX2+cV4=bN6",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "portal.example.org",
    "FIELD_ENCRYPTION_KEYS": "3IsmgnvSfCwc6cxc6hEiJlHLI6HC2ksiUNbMD6N_UtQ=",
    "SALESFORCE_CLIENT_ID": "3MVG9-real-consumer-key",
    "SALESFORCE_CLIENT_SECRET": "consumer-secret",
    "DATABASE_URL": "postgres://thankview:secret@db.internal:5432/thankview",
}


def _manage(*args, env):
    # Only what a real deployment would have: no test defaults leak into the child.
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), **env}
    clean["DJANGO_SETTINGS_MODULE"] = "thankview.settings"
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_passes_with_documented_production_variables():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "SALESFORCE_CLIENT_SECRET"])
def test_production_refuses_to_start_without_a_required_secret(missing):
    env = {**PRODUCTION_ENV, missing: ""}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and missing in result.stderr


def test_production_refuses_to_start_without_a_database_url():
    # No silent fallback to a local file database: production names its PostgreSQL.
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DATABASE_URL"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured: Set the DATABASE_URL environment variable" in result.stderr


def test_a_malformed_boolean_is_an_error_not_false():
    result = _manage("check", env={**PRODUCTION_ENV, "DEBUG": "maybe"})
    assert result.returncode != 0
