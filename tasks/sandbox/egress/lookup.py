"""Name lookups for the egress proxy, remembered for a short while.

The proxy checks a destination's addresses twice per tunnel (when it decides the CONNECT, and on
the upstream connection it pins), and its hooks run on mitmproxy's one event loop: a lookup the
host's resolver answers late (a dropped UDP answer costs glibc's 5 s timeout) held every tunnel
of the sandbox. npm opens 15 tunnels at once and crawled at ~12 s per batch. One lookup per name
per `ttl` seconds bounds that to once, and the two checks of a tunnel see the same answer. The
hooks await `addresses_async`, which runs the resolver in a thread of its own: a name the
resolver answers late holds only the tunnels waiting for that name, never the event loop.

Stdlib only: loaded by the mitmproxy addon (`.venv-proxy`).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

Resolve = Callable[[str], list[str]]

ANSWER_SECONDS = 30.0  # how long an answer is used (pinning makes a rebinding moot meanwhile)
FAILURE_SECONDS = 5.0  # how long "does not resolve" is remembered
LOOKUP_THREADS = 16  # names looked up at once for the event loop; more wait for a thread


def _getaddrinfo(name: str) -> list[str]:
    infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class CachedLookup:
    """`addresses(name)`: the resolver's answer for `name`, reused for `ttl` seconds; a failure
    (OSError) is reused for `failure_ttl` seconds. Callers on several threads asking for the same
    name at once share one lookup."""

    def __init__(
        self,
        resolve: Resolve = _getaddrinfo,
        *,
        ttl: float = ANSWER_SECONDS,
        failure_ttl: float = FAILURE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resolve = resolve
        self._ttl = ttl
        self._failure_ttl = failure_ttl
        self._clock = clock
        self._answers: dict[str, tuple[float, list[str] | OSError]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        # For the event loop (`addresses_async`): the lookup under way per name, and its threads.
        self._pending: dict[str, asyncio.Future[list[str]]] = {}
        self._executor: ThreadPoolExecutor | None = None

    async def addresses_async(self, name: str) -> list[str]:
        """`addresses(name)` for a coroutine on an event loop: a kept answer at once, else the
        resolver runs in a thread while the loop serves everything else; coroutines asking for
        the same name meanwhile share that lookup (a caller cancelled does not cancel it)."""
        kept = self._answers.get(name)
        if kept is not None and kept[0] > self._clock():
            return _unpack(kept[1])
        pending = self._pending.get(name)
        if pending is None:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(LOOKUP_THREADS, thread_name_prefix="lookup")
            loop = asyncio.get_running_loop()
            pending = loop.run_in_executor(self._executor, self.addresses, name)
            self._pending[name] = pending
            pending.add_done_callback(lambda _: self._pending.pop(name, None))
        return list(await asyncio.shield(pending))

    def addresses(self, name: str) -> list[str]:
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:  # one lookup per name at a time; the others wait for its answer
            kept = self._answers.get(name)
            if kept is not None and kept[0] > self._clock():
                return _unpack(kept[1])
            try:
                answer: list[str] | OSError = list(self._resolve(name))
                until = self._clock() + self._ttl
            except OSError as exc:
                answer = exc
                until = self._clock() + self._failure_ttl
            self._answers[name] = (until, answer)
            return _unpack(answer)


def _unpack(answer: list[str] | OSError) -> list[str]:
    if isinstance(answer, OSError):
        raise answer
    return list(answer)
