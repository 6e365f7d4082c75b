"""The OpenAPI schema is the contract: schemathesis runs every operation of the live API
(a real server thread on the test PostgreSQL database) with every check, a fixed seed and a
bounded number of examples, and must find no server error and no disagreement between the
schema and the behaviour.

`tests/api/schemathesis.toml` holds the one documented exception (see there).
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.engagement.factories import make_api_key, make_send

HERE = Path(__file__).resolve().parent
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "20261206"))
# Examples per operation and phase; with all four phases this stays under a minute here.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "10"))

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_live_api_matches_its_schema(live_server, portal_a, settings, tmp_path):
    settings.API_RATE_LIMIT = 100_000  # the run itself must not be throttled
    make_send(portal_a)  # something real for the stateful phase to find
    _, raw = make_api_key(portal_a)
    started = time.monotonic()
    run = subprocess.run(
        [
            sys.executable, "-m", "schemathesis.cli",
            "--config-file", str(HERE / "schemathesis.toml"),
            "run", f"{live_server.url}/api/v1/openapi.json",
            "--checks", "all",
            "--seed", str(SEED),
            "--max-examples", str(MAX_EXAMPLES),
            "--workers", "1",
            "--generation-database", "none",
            "--header", f"Authorization: Bearer {raw}",
            "--report-dir", str(tmp_path),
            "--no-color",
        ],
        capture_output=True, text=True, timeout=240, cwd=tmp_path,
    )
    elapsed = time.monotonic() - started
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    summary = re.search(r"(\d+) generated, (\d+) passed", output)
    assert summary is not None, output[-2000:]
    generated, passed = int(summary.group(1)), int(summary.group(2))
    assert generated == passed and generated >= 200, output[-2000:]
    assert "Selected: 4/4" in output and "Tested: 4" in output
    assert "failure" not in output.split("Test cases:")[-1]
    assert elapsed < 90, f"the schemathesis run took {elapsed:.0f} s"
