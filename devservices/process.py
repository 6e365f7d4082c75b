"""Child server processes that never outlive the command that started them."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int):
    """A ``preexec_fn`` that has Linux send ``sig`` to the child when its parent dies.

    A test run killed with SIGKILL (a CI time-out, a closed terminal) then still stops its
    servers; elsewhere the servers are stopped by ``stop()`` and at exit only.
    """
    if not sys.platform.startswith("linux"):
        return None

    def _set():
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, sig)

    return _set


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def stop(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def unprivileged_user() -> str | None:
    """PostgreSQL refuses to run as root (CI runs as root): run it as ``nobody`` there."""
    return "nobody" if hasattr(os, "geteuid") and os.geteuid() == 0 else None


def run_as(user: str | None) -> dict:
    """``subprocess`` arguments that run a child as ``user`` with that user's own group and
    no other: with root's groups kept, a folder that is ``0701 root:root`` (``mktemp -d``
    with o+x) would refuse it through its group bits."""
    if user is None:
        return {}
    import pwd

    return {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []}
