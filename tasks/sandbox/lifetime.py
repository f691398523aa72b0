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

    def arm(self) -> None:
        """Start the wall clock: at `wall_seconds` the sandbox ends."""
        self._timer = threading.Timer(self.wall_seconds, self._on_wall_clock)
        self._timer.daemon = True
        self.started_at = time.monotonic()
        self._timer.start()

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
