"""A local cloud in a child process: what the test harness, the tooling tests and the
benchmarks start (``python -m localcloud serve --port 0``), so moto's global state never mixes
with the caller's own.

The child writes its endpoint to a ready file once it listens (written whole, then renamed);
:meth:`LocalCloudProcess.stop` terminates it, and on SIGTERM it stops its Lambda workers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


class LocalCloudProcess:
    """``python -m localcloud serve`` with its state (and log) in ``state_dir``."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.log_file = state_dir / "localcloud.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.endpoint_url = ""

    def start(self, timeout: float = 60.0) -> str:
        """Start the child and wait until it serves; returns its endpoint URL."""
        ready_file = self.state_dir / "ready.json"
        with self.log_file.open("wb") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "localcloud", "serve", "--port", "0"),
                    *("--state-dir", str(self.state_dir), "--ready-file", str(ready_file)),
                ],
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while not ready_file.exists():
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the local cloud exited with {self.process.returncode}; see "
                    f"{self.log_file}:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the local cloud was not ready within {timeout:.0f}s")
            time.sleep(0.05)
        self.endpoint_url = str(json.loads(ready_file.read_text())["endpoint_url"])
        return self.endpoint_url

    def stop(self, timeout: float = 30.0) -> None:
        """Terminate the child (it stops its Lambda workers on SIGTERM) and wait for it."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        """The end of the child's log, without werkzeug's line per HTTP request."""
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        kept = [line for line in text.splitlines() if " INFO werkzeug: " not in line]
        return "\n".join(kept[-lines:])
