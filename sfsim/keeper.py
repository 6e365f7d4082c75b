"""Stop and start the simulator alone while ``make run`` keeps the portal up.

honcho stops every process of the Procfile as soon as one of them exits, so the Procfile runs
this keeper instead of the simulator itself:

- ``python -m sfsim.keeper -- ARGS`` runs ``python -m sfsim ARGS`` as its child and stays up
  when the child stops; SIGTERM or Ctrl-C stop both (honcho's shutdown);
- ``python -m sfsim.keeper stop`` (``make sfsim-stop``) stops the simulator: the portal then
  meets a refused connection, as with a Salesforce it cannot reach;
- ``python -m sfsim.keeper start`` (``make sfsim-start``) starts it again, with the same seed.
  The simulator keeps its org in memory, so tokens issued before are unknown to the new one:
  click Reconnect in the portal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

PID_FILE = Path(".sfsim") / "keeper.pid"


class Keeper:
    def __init__(self, sfsim_args: list[str]):
        self.command = [sys.executable, "-m", "sfsim", *sfsim_args]
        self.child: subprocess.Popen | None = None
        self.wanted = True  # whether the simulator should be running
        self.wake = threading.Event()
        self.done = False

    def serve(self) -> int:
        PID_FILE.parent.mkdir(parents=True, exist_ok=True)
        PID_FILE.write_text(str(os.getpid()))
        signal.signal(signal.SIGUSR1, lambda *_: self._want(False))
        signal.signal(signal.SIGUSR2, lambda *_: self._want(True))
        signal.signal(signal.SIGTERM, lambda *_: self._finish())
        signal.signal(signal.SIGINT, lambda *_: self._finish())
        try:
            while not self.done:
                self._reconcile()
                self.wake.wait(0.5)
                self.wake.clear()
        finally:
            self._stop_child()
            PID_FILE.unlink(missing_ok=True)
        return 0

    def _want(self, running: bool) -> None:
        self.wanted = running
        self.wake.set()

    def _finish(self) -> None:
        self.done = True
        self.wake.set()

    def _reconcile(self) -> None:
        alive = self.child is not None and self.child.poll() is None
        if self.wanted and not alive:
            if self.child is not None:
                print(f"sfsim exited ({self.child.returncode}); `make sfsim-start` starts it again", flush=True)
                self.child, self.wanted = None, False
                return
            self.child = subprocess.Popen(self.command)
        elif not self.wanted and alive:
            self._stop_child()
            print("sfsim stopped (the portal stays up); `make sfsim-start` starts it again", flush=True)

    def _stop_child(self) -> None:
        if self.child is None or self.child.poll() is not None:
            self.child = None
            return
        self.child.terminate()
        try:
            self.child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait()
        self.child = None


def signal_keeper(sig: int) -> int:
    try:
        pid = int(PID_FILE.read_text())
        os.kill(pid, sig)
    except (OSError, ValueError):
        print("The simulator's keeper is not running: start the demo with `make run`.", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["stop"]:
        return signal_keeper(signal.SIGUSR1)
    if argv[:1] == ["start"]:
        return signal_keeper(signal.SIGUSR2)
    return Keeper(argv[1:] if argv[:1] == ["--"] else argv).serve()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
