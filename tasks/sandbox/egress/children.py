"""The proxy processes (mitmdump, socat) this process started, so none outlives it.

Each runs in a session of its own (so a signal to the worker does not reach it, and its group
can be ended whole), which also means nothing ends it when the worker exits. `EgressProxy.stop`
ends them; what is still running at interpreter exit — a proxy whose stop left the wait to a
daemon thread (`stop(wait=False)`), one a start was still bringing up, one nobody stopped — is
ended here: SIGTERM to its group, then SIGKILL after a short grace. A killed worker (SIGKILL)
runs no exit handler; its processes are the reaper's (reaper.py, by the pids file).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import threading
import time

EXIT_GRACE_SECONDS = 2.0

_lock = threading.Lock()
# pid -> (the process, the pid of the process that started it: a forked child inherits this
# table but must not end its parent's proxies)
_running: dict[int, tuple[subprocess.Popen[bytes], int]] = {}


def track(proc: subprocess.Popen[bytes]) -> None:
    """Remember `proc` (started in a session of its own) until `forget` or exit."""
    with _lock:
        _running[proc.pid] = (proc, os.getpid())


def forget(proc: subprocess.Popen[bytes]) -> None:
    """`proc` was waited for: nothing is left to end."""
    with _lock:
        _running.pop(proc.pid, None)


def running() -> list[subprocess.Popen[bytes]]:
    """The tracked processes of this process still running."""
    me = os.getpid()
    with _lock:
        tracked = [proc for proc, owner in _running.values() if owner == me]
    return [proc for proc in tracked if proc.poll() is None]


def end_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Send `sig` to `proc`'s process group (its session); gone already is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


@atexit.register
def end_all(grace: float = EXIT_GRACE_SECONDS) -> None:
    """End every tracked process of this process still running: SIGTERM, then SIGKILL to the
    ones still there after `grace` seconds; each is waited for."""
    procs = running()
    for proc in procs:
        end_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            end_group(proc, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        forget(proc)
