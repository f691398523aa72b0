"""Real processes for the fault tests and bench/faults.py: start them, find them by PID, kill
them, and wait (always bounded) for what should follow.

- `EmbeddedStack`: `codexweb serve` (or `make run`) as a subprocess; its output is collected
  line by line, and the PIDs of its children are read from its "started NAME (pid N)" lines.
- `RedisProcess`: a redis-server on a fixed loopback port that can be killed and started again
  on the same port (a Redis restart).
- `wait_until`, `pid_alive`, `port_open`, `group_members`, `processes_mentioning`: the checks
  the tests assert on.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.services import ROOT, free_port

STARTED = re.compile(r"started (?P<name>[\w-]+) \(pid (?P<pid>\d+)\)")


def wait_until(predicate: Callable[[], object], *, timeout: float, what: str,
               interval: float = 0.05) -> float:
    """Poll `predicate` until it is true; return the seconds it took. AssertionError naming
    `what` when it is still false after `timeout`."""
    start = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout:.0f}s: {what}")
        time.sleep(interval)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def processes_mentioning(text: str) -> list[int]:
    """Live processes (not zombies, not this one) with `text` in their command line: a
    proxy's runtime folder names every process started for it."""
    needle, found = text.encode(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "cmdline").read_bytes() and pid_alive(int(entry.name)):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def group_members(pgid: int) -> list[int]:
    """Live processes in process group `pgid` (what a dead child may have left behind)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(int(entry.name))
    return found


def stack_environment(var_dir: Path, redis_port: int, **extra: str) -> dict[str, str]:
    """Environment for `codexweb serve` in a test: its own var/ (SQLite), its own Redis port,
    this worktree's code first on the path, none of the test session's database settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CODEXWEB_TEST_SERVICES_READY", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        CODEXWEB_VAR_DIR=str(var_dir),
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        WORKER_CONCURRENCY="1",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class EmbeddedStack:
    """`codexweb serve` (or another command that runs it, like `make run`) in a subprocess."""

    def __init__(self, env: dict[str, str], web_port: int, argv: list[str] | None = None):
        self.web_port = web_port
        self.argv = argv or [sys.executable, "-m", "codexweb.cli", "serve",
                             "--port", str(web_port)]
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            self.argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace",
            start_new_session=True,  # a failed test can still stop the runner's group
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._lock:
                self.lines.append(line)

    def output(self) -> str:
        with self._lock:
            return "".join(self.lines)

    def tail(self, lines: int = 60) -> str:
        with self._lock:
            return "".join(self.lines[-lines:])

    def count(self, text: str) -> int:
        with self._lock:
            return sum(text in line for line in self.lines)

    def wait_for(self, text: str, *, timeout: float, count: int = 1) -> float:
        """Wait until `text` appeared in `count` lines of the output; seconds waited."""
        try:
            return wait_until(lambda: self.count(text) >= count, timeout=timeout,
                              what=f"{text!r} in the runner's output", interval=0.05)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- runner output ---\n{self.tail()}") from None

    def wait_started(self, timeout: float = 150) -> None:
        self.wait_for("Press Ctrl-C", timeout=timeout)

    def pids(self) -> dict[str, int]:
        """The newest PID of each child, from the runner's "started NAME (pid N)" lines."""
        found: dict[str, int] = {}
        with self._lock:
            for line in self.lines:
                match = STARTED.search(line)
                if match:
                    found[match["name"]] = int(match["pid"])
        return found

    def stop(self, sig: int = signal.SIGINT, timeout: float = 40) -> int | None:
        """Stop the runner with `sig`; whatever is left of it is killed by process group."""
        known = list(self.pids().values())
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=timeout)
        for pgid in [self.proc.pid, *known]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        return self.proc.returncode


class RedisProcess:
    """A redis-server on one loopback port, killable and restartable on that same port."""

    def __init__(self, port: int | None = None, *, appendonly: bool = False,
                 data_dir: Path | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found: run `make test` once (it installs it)")
        self.binary = binary
        self.port = port or free_port()
        self.appendonly = appendonly
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="redis-fault-"))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20) -> RedisProcess:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes" if self.appendonly else "no", "--dir", str(self.data_dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: port_open(self.port), timeout=timeout,
                   what=f"redis-server on port {self.port}")
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20)
        wait_until(lambda: not port_open(self.port), timeout=10,
                   what=f"redis-server on port {self.port} gone")

    def restart(self, down_seconds: float = 0.0) -> None:
        """Kill it, stay down `down_seconds`, start it again on the same port."""
        self.kill()
        time.sleep(down_seconds)
        self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
            if self.proc.poll() is None:
                self.proc.kill()
        shutil.rmtree(self.data_dir, ignore_errors=True)
