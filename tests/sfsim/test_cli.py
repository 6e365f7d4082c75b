"""`python -m sfsim` runs in the foreground, prints its URL and CA bundle, and reuses the CA."""

import subprocess
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def run_sim(cert_dir):
    proc = subprocess.Popen([sys.executable, "-m", "sfsim", "--port", "0", "--cert-dir", str(cert_dir)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().split()[-1]
    ca = proc.stdout.readline().split(": ", 1)[1].strip()
    return proc, url, ca


def test_cli_prints_url_and_ca_and_reuses_the_ca(tmp_path, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    first, url, ca = run_sim(tmp_path)
    try:
        assert url.startswith("https://127.0.0.1:") and ca == str(tmp_path / "ca.pem")
        assert requests.get(f"{url}/services/data/", verify=ca, timeout=5).status_code == 200
        pem = Path(ca).read_bytes()
        second, url2, _ = run_sim(tmp_path)
        try:
            assert Path(ca).read_bytes() == pem  # a portal that trusted the CA keeps trusting it
            assert requests.get(f"{url2}/services/data/", verify=ca, timeout=5).status_code == 200
        finally:
            second.terminate()
            second.wait(5)
    finally:
        first.terminate()
        assert first.wait(5) == 0
