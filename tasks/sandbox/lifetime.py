"""When a sandbox ends: the wall clock, a cancel from another thread, the engine losing the
container. Once ended, every later call fails with the reason (`ended`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Lifetime:
    """The end of one sandbox, safe to trigger from any thread. `kill` stops the container and
    returns once it has stopped; it runs once, on the first `end()`."""

    def __init__(self, wall_seconds: int, kill: Callable[[], None]) -> None:
        self.wall_seconds = wall_seconds
        self._kill = kill
        self.ended: str | None = None  # why the sandbox can no longer run commands
        self.lost = False  # it ended because the engine lost the container
        self.stopped = threading.Event()  # set once the container was killed after `ended`
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self.started_at = 0.0

    def begin(self) -> None:
        """The wall clock counts from now: the sandbox's start, so time spent waiting for
        another start's setup (warm_flight.py) is part of it. Only the first call counts."""
        if not self.started_at:
            self.started_at = time.monotonic()

    def arm(self) -> None:
        """Arm the wall clock once the container exists: at `wall_seconds` after `begin()`
        (now, when it was not called) the sandbox ends, at once when that has passed."""
        self.begin()
        delay = max(0.0, self.wall_seconds - self.elapsed())
        self._timer = threading.Timer(delay, self._on_wall_clock)
        self._timer.daemon = True
        self._timer.start()

    def expire_if_due(self) -> None:
        """End the sandbox when its wall time has passed (before there is a timer to do it)."""
        if self.started_at and self.elapsed() >= self.wall_seconds:
            self._on_wall_clock()

    def disarm(self, reason: str) -> None:
        """The sandbox is being stopped on purpose: no kill, but later calls fail."""
        with self._lock:
            if self.ended is None:
                self.ended = reason
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()

    def elapsed(self) -> float:
        return time.monotonic() - self.started_at

    def remaining(self) -> float:
        return max(1.0, self.wall_seconds - self.elapsed())

    def _on_wall_clock(self) -> None:
        self.end(f"the attempt reached its time limit of {self.wall_seconds} seconds")

    def end(self, reason: str, *, lost: bool = False) -> None:
        """Stop the container now; later calls raise SandboxError(reason)."""
        with self._lock:
            if self.ended is not None:
                return
            self.ended = reason
            self.lost = lost
        try:
            self._kill()
        finally:
            self.stopped.set()
