"""One setup-phase egress proxy started ahead, per worker process (issue 18's cold path).

mitmdump takes a second or more to start (loading mitmproxy is most of a cold start's host
time), and nearly every repository's setup runs with internet (the default policy is `on`). So
when a setup phase's proxy stops (the agent phase begins), the worker starts one more mitmdump
in the background and keeps it; the next setup phase adopts it (waiting for it when it is still
starting: it is further along than a new one would be) (`EgressProxy.adopt`: its rules
replaced, the bridge from that sandbox's socket folder started) instead of starting its own.

What keeps this as safe as a proxy per phase:
- a spare is used once: adopted by one sandbox, stopped with that sandbox's phase, never handed
  back; its folder (CA, logs) is its own;
- until it is adopted it has no bridge, so nothing in any container can reach it, and its rules
  refuse everything; adoption writes the phase's rules in one rename before the bridge starts;
- it serves only the setup phase, which never carries credentials, and only a sandbox whose
  launch options match (`SpareKey`: the mitmdump, the upstream CAs, the company proxy and its
  credentials live in the command line and confdir, so they are part of the key);
- its folder is named `spare-proxy-…` under the runtime folder with the worker's owner file
  and a pids file, so the reaper ends it when the worker dies (reaper.py).

A spare older than MAX_IDLE_SECONDS is not used (stopped at the next take): a worker that
rarely runs setup does not keep a stale process. Cost: one idle mitmdump per worker process
(≈ 60 MB) once it ran a setup with internet; SANDBOX_SPARE_PROXY=false turns it off.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from tasks.sandbox.base import SandboxError
from tasks.sandbox.egress.policy import EgressRules
from tasks.sandbox.egress.proxy import START_TIMEOUT, EgressProxy
from tasks.sandbox.spec import SPARE_PROXY_PREFIX, owner_token

logger = logging.getLogger(__name__)

MAX_IDLE_SECONDS = 900.0
REFUSE_ALL = EgressRules(mode="allowlist")  # until adopted (nothing can connect anyway)


@dataclass(frozen=True)
class SpareKey:
    """What is fixed when mitmdump starts; a spare serves only a sandbox with the same."""

    runtime_dir: str
    mitmdump: str
    upstream_ca: str
    extra_ca_pem: str
    upstream_proxy: str


@dataclass
class _Spare:
    key: SpareKey
    proxy: EgressProxy
    started: float


_lock = threading.Lock()
_changed = threading.Condition(_lock)  # a refill ended
_spare: _Spare | None = None
_refilling = False


def take(key: SpareKey) -> EgressProxy | None:
    """The spare proxy when one is ready for `key` (it is then the caller's: adopt it, stop it,
    `discard` its folder); None otherwise. A spare that does not fit is stopped."""
    global _spare
    settle()  # one being started is further along than one this caller would start now
    with _lock:
        spare, _spare = _spare, None
    if spare is None:
        return None
    fresh = time.monotonic() - spare.started < MAX_IDLE_SECONDS
    if spare.key == key and fresh and spare.proxy.running():
        return spare.proxy
    discard(spare.proxy)
    return None


def refill_later(key: SpareKey) -> threading.Thread | None:
    """Start a spare for `key` in a background thread unless one is there or starting; the
    thread, or None."""
    global _refilling
    with _lock:
        if _refilling or (_spare is not None and _spare.key == key):
            return None
        _refilling = True
    thread = threading.Thread(target=_refill, args=(key,), name="spare-proxy", daemon=True)
    thread.start()
    return thread


def settle(timeout: float = START_TIMEOUT) -> None:
    """Wait (at most `timeout`) until no spare is being started (tests, benches, exit)."""
    with _changed:
        _changed.wait_for(lambda: not _refilling, timeout=timeout)


def discard(proxy: EgressProxy) -> None:
    """Stop a spare (adopted or not) and remove its folder."""
    proxy.stop()
    shutil.rmtree(proxy.workdir.parent, ignore_errors=True)


def is_spare(proxy: EgressProxy) -> bool:
    return proxy.workdir.parent.name.startswith(SPARE_PROXY_PREFIX)


def _refill(key: SpareKey) -> None:
    global _spare, _refilling
    folder = Path(key.runtime_dir) / f"{SPARE_PROXY_PREFIX}{uuid.uuid4().hex[:8]}"
    proxy = EgressProxy(
        rules=REFUSE_ALL,
        workdir=folder / "egress",
        mitmdump=key.mitmdump,
        upstream_ca=key.upstream_ca,
        extra_ca_pem=key.extra_ca_pem,
        upstream_proxy=key.upstream_proxy,
        probe_trust=True,
    )
    try:
        folder.mkdir(parents=True)
        (folder / "owner").write_text(owner_token())
        proxy.start_proxy()
    except (OSError, SandboxError) as exc:
        logger.info("no spare egress proxy: %s", exc)
        discard(proxy)
        with _changed:
            _refilling = False
            _changed.notify_all()
        return
    with _changed:
        old, _spare = _spare, _Spare(key, proxy, time.monotonic())
        _refilling = False
        _changed.notify_all()
    if old is not None:
        discard(old.proxy)


@atexit.register
def stop_spare() -> None:
    """Stop the spare (after one being started is ready): at exit, and for tests."""
    global _spare
    settle()
    with _lock:
        spare, _spare = _spare, None
    if spare is not None:
        discard(spare.proxy)
