"""Keeping the embedded stack's processes alive: start, watch, restart with backoff, stop.

A child that exits on its own is started again, after 1 s, then 2, 4 ... up to 30 s while it
keeps dying within a minute of starting; a child that ran for a minute starts over at 1 s. The
supervisor never gives up (a crash loop usually has an outside cause, a full disk or a Redis
that went away, which an operator fixes without restarting everything), but it says each time
what happened and when it tries again. Each child runs in its own process group, so whatever
it leaves behind when it dies (Celery's pool processes, its beat) is removed with it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
STABLE_SECONDS = 60.0  # a child that ran this long is healthy again: backoff starts over
LOUD_AFTER_CRASHES = 5  # fast crashes in a row before the message says "keeps crashing"
STOP_SECONDS = 15.0

PR_SET_PDEATHSIG = 1


def _prepare_child() -> None:
    """Run in each child before exec: its own process group (cleaned up as a whole), and, if the
    runner dies, even by SIGKILL, SIGTERM to the child (Linux prctl PR_SET_PDEATHSIG), so no
    redis-server, worker or daphne is orphaned."""
    os.setpgid(0, 0)
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:  # not Linux/glibc: Ctrl-C and SIGTERM still stop everything
        pass


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a child's whole process group; nothing happens when it is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


@dataclass
class Child:
    """One supervised process: how to start it, and its state."""

    name: str
    argv: list[str]
    env: dict[str, str] | None = None
    cwd: Path | None = None
    quiet: bool = False  # stdout to /dev/null (redis-server's banner)
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    fast_crashes: int = 0
    restart_at: float | None = None  # set while waiting to restart

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None


@dataclass
class Supervisor:
    """Starts children, restarts the ones that die, stops them all (last started first)."""

    say: Callable[[str], None]
    children: list[Child] = field(default_factory=list)
    stopping: bool = False

    def start(self, child: Child) -> Child:
        if child not in self.children:
            self.children.append(child)
        child.proc = subprocess.Popen(
            child.argv,
            env=child.env,
            cwd=child.cwd,
            stdout=subprocess.DEVNULL if child.quiet else None,
            preexec_fn=_prepare_child,  # noqa: PLW1509 - the runner starts no threads
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        self.say(f"started {child.name} (pid {child.proc.pid})")
        return child

    def backoff(self, child: Child) -> float:
        """Seconds to wait before restarting `child`, given how many fast crashes in a row."""
        return min(MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2 ** max(0, child.fast_crashes - 1))

    def check(self) -> None:
        """Notice children that exited and restart those whose wait is over. Call often."""
        now = time.monotonic()
        for child in self.children:
            if self.stopping:
                return
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restarts += 1
                    self.say(f"restarting {child.name} (restart {child.restarts})")
                    self.start(child)
                continue
            proc = child.proc
            if proc is None or proc.poll() is None:
                continue
            kill_group(proc.pid)  # what it left behind: pool processes, beat
            ran = now - child.started_at
            child.fast_crashes = child.fast_crashes + 1 if ran < STABLE_SECONDS else 1
            delay = self.backoff(child)
            child.restart_at = now + delay
            how = _exit_description(proc.returncode)
            self.say(
                f"{child.name} (pid {proc.pid}) {how} after {ran:.0f}s; "
                f"restarting it in {delay:.0f}s"
            )
            if child.fast_crashes >= LOUD_AFTER_CRASHES:
                self.say(
                    f"{child.name} keeps exiting ({child.fast_crashes} times in a row soon after "
                    f"starting); still retrying every {MAX_BACKOFF_SECONDS:.0f}s at most - "
                    "see its messages above"
                )

    def stop_all(self) -> None:
        """SIGTERM to every running child, last started first; SIGKILL what is left after
        STOP_SECONDS, and each child's process group after that."""
        self.stopping = True
        running = [c for c in reversed(self.children) if c.proc is not None]
        for child in running:
            assert child.proc is not None
            if child.proc.poll() is None:
                self.say(f"stopping {child.name}")
                with contextlib.suppress(ProcessLookupError):
                    child.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for child in running:
            assert child.proc is not None
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{child.name} did not stop within {STOP_SECONDS:.0f}s; killing it")
                child.proc.kill()
                child.proc.wait(timeout=5)
            kill_group(child.proc.pid)


def _exit_description(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"
