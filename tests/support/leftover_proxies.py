"""Session-end check: no egress proxy started during a test session outlives the session.

After a fresh-clone CI run one mitmdump was still running (session 6). Every process the session
starts inherits CODEXWEB_TEST_SESSION (set when the session starts, unique to it, so parallel
sessions of other worktrees are never counted). When the session ends, a proxy process (mitmdump,
or a socat bridge from a unix socket) that carries this session's mark and is still running after
a short grace is named, ended, and fails the session. The grace covers a proxy whose stop left
its exit to a background thread (`EgressProxy.stop(wait=False)`); the spare setup proxy this
process keeps on purpose until exit (egress/spare.py) is stopped first.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from pathlib import Path

from tests.support.processes import pid_alive

MARK = "CODEXWEB_TEST_SESSION"
GRACE_SECONDS = 10.0


def mark_session() -> None:
    """Give this session (and every process it starts from now on) its own mark."""
    os.environ[MARK] = uuid.uuid4().hex


def _is_proxy(args: list[bytes]) -> bool:
    """mitmdump (run by its venv's python, or a wrapper named after it) or a socat bridge."""
    if any(arg.endswith(b"mitmdump") for arg in args[:2]):
        return True
    return bool(args) and args[0].endswith(b"socat") and any(
        arg.startswith(b"UNIX-LISTEN:") for arg in args
    )


def proxies_of_this_session() -> dict[int, str]:
    """pid -> command line of every running proxy process carrying this session's mark."""
    token = os.environ.get(MARK)
    if not token:
        return {}
    mark = f"{MARK}={token}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if mark not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            args = (entry / "cmdline").read_bytes().rstrip(b"\0").split(b"\0")
        except OSError:
            continue
        if _is_proxy(args) and pid_alive(int(entry.name)):
            found[int(entry.name)] = b" ".join(args).decode(errors="replace")[:300]
    return found


def left_behind(grace: float = GRACE_SECONDS) -> dict[int, str]:
    """The session's proxies still running after `grace` seconds (the spare stopped first),
    each then killed; {} when none is left."""
    from tasks.sandbox.egress import spare

    spare.stop_spare()
    deadline = time.monotonic() + grace
    left = proxies_of_this_session()
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = proxies_of_this_session()
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return left
