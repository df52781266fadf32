"""Start and stop `streamlit run app.py` on a free loopback port (tests and benchmarks).

No pytest here: the benchmark scripts in tests/benchmarks/ import this module too.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The checkout whose app.py is served (default: this one); lets a benchmark measure another.
APP_DIR = Path(os.environ.get("APP_DIR", REPO))
CHROMIUM = Path("/usr/bin/chromium")
# Flags for Debian's chromium in a container: no sandbox (we run as root, no user
# namespaces), /tmp instead of a small /dev/shm, and nothing that phones home or uses CPU
# in the background while we measure.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# The selector that says "the script (or fragment) has finished running".
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"


def free_port() -> int:
    """A port nobody listens on now (the kernel picks it; tiny race window accepted)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class AppServer:
    """One `streamlit run app.py` child process; use as a context manager."""

    port: int = 0
    extra_args: list[str] = field(default_factory=list)
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> AppServer:
        self.port = self.port or free_port()
        log = tempfile.NamedTemporaryFile(prefix="streamlit-", suffix=".log", delete=False)
        self.log_path = Path(log.name)
        command = [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.address", "127.0.0.1",
            "--server.port", str(self.port),
            "--server.headless", "true",
            "--server.fileWatcherType", "none",
            "--browser.gatherUsageStats", "false",
            *self.extra_args,
        ]
        # Own process group: stop() can end streamlit and anything it started, and only that.
        self.process = subprocess.Popen(
            command, cwd=APP_DIR, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        log.close()
        return self

    def wait_healthy(self, timeout: float = 90.0) -> float:
        """Block until /_stcore/health answers 200; returns the seconds waited."""
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited early:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        return time.perf_counter() - start
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise TimeoutError(f"streamlit not healthy after {timeout} s:\n{self.log()}")

    def log(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-5000:]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass

    def __enter__(self) -> AppServer:
        self.start()
        try:
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
