"""One cold setup per warm key at a time in a worker process; the others start from its image.

A best-of-N task on a repository without a warm image sent all N siblings (and an Ask on the
same commit) through the same setup at once: N containers running the same script, N commits
of the same image, on a host with two cores. Measured on the embedded stack (scripted model,
setup `true`): best-of-3 plus an Ask took 13.6 s cold with four worker threads, against 6 s
when they ran one after another. Now the first start of a key leads (runs setup and commits
the warm image); a start of the same key meanwhile follows: it waits for the leader to land,
then looks for the warm image again. A follower never leads after waiting: when the leader
failed (its script failed, it was cancelled, the commit was refused), every follower runs its
own setup at once rather than one after another.

Per process: workers on other processes or hosts may still set up the same key side by side
(each commit is complete on its own; the last tag wins), as before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

_lock = threading.Lock()
_flights: dict[str, threading.Event] = {}

POLL_SECONDS = 0.2  # how often a follower looks whether it was cancelled


@dataclass
class Lead:
    """The right to run `key`'s setup first; `land()` (idempotent) lets the followers go."""

    key: str
    landed: threading.Event = field(default_factory=threading.Event)

    def land(self) -> None:
        with _lock:
            if _flights.get(self.key) is self.landed:
                del _flights[self.key]
        self.landed.set()


def lead_or_follow(key: str) -> tuple[Lead | None, threading.Event | None]:
    """(a Lead, None) when no start of `key` is setting up in this process, else (None, the
    leader's landing to wait for)."""
    with _lock:
        landing = _flights.get(key)
        if landing is None:
            lead = Lead(key)
            _flights[key] = lead.landed
            return lead, None
        return None, landing


def wait_for_landing(
    landing: threading.Event, *, limit_seconds: float, given_up: Callable[[], bool]
) -> bool:
    """Wait until the leader landed, at most `limit_seconds`, and not past `given_up()` (this
    start was cancelled); whether it landed."""
    deadline = time.monotonic() + limit_seconds
    while not landing.wait(POLL_SECONDS):
        if given_up() or time.monotonic() >= deadline:
            return False
    return True


def flights_in_progress() -> list[str]:
    """The keys being set up now (tests and diagnostics)."""
    with _lock:
        return list(_flights)
