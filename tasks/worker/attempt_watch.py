"""One thread per worker process that watches every attempt the process runs.

It stamps the heartbeats of the attempts it was given in one UPDATE, and asks in one SELECT
which of the attempts whose sandbox it watches were ended elsewhere (a person cancelled, or
housekeeping or a stopping worker failed them), then cancels those sandboxes. Each
registration keeps its own interval (ATTEMPT_HEARTBEAT_SECONDS, the cancel watch's 2 s); the
ones due together share a statement.

It replaced a heartbeat thread per attempt (a new PostgreSQL connection every round) and a
cancel-watch thread per phase (its own connection and ORM query every 2 s): at twenty attempts
at once, forty threads whose queries and connects were a tenth of the worker's CPU and ≈ 3 of
the 5 PostgreSQL connections per attempt (py-spy under bench/load.py, session 11). The thread
keeps one connection while anything is registered and closes it when nothing is; a database
that is briefly away skips a round (the broken connection is dropped, the next round opens a
new one). A forked child (Celery prefork) starts its own thread.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.utils import timezone

from tasks.models import FINISHED_STATUSES, Attempt, Status
from tasks.resilience import TRANSIENT_DB_ERRORS, drop_connection

logger = logging.getLogger(__name__)

CANCEL_JOIN_SECONDS = 10.0  # how long leaving a cancel watch waits for a cancel under way
# A registration due within this share of its interval joins the round due now: attempts that
# started a moment apart share their statements instead of each waking the thread.
EARLY_SHARE = 0.25
FAILED_ROUND_PAUSE = 1.0  # seconds after a round failed for a reason other than the database


@dataclass(eq=False)
class _Watch:
    """One registration: an attempt's heartbeat, or a sandbox to cancel once it ended."""

    attempt_id: int
    interval: float
    due: float
    cancel: Callable[[], None] | None = None  # None: a heartbeat
    fired: threading.Thread | None = None  # the cancel started, at most once
    key: int = field(default=0)


class AttemptWatch:
    """The process's watch thread and what it watches; use `attempt_watch()`."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._watches: dict[int, _Watch] = {}
        self._keys = itertools.count(1)
        self._thread: threading.Thread | None = None

    # -- registrations -----------------------------------------------------------------------

    @contextlib.contextmanager
    def heartbeat(self, attempt_id: int, *, interval: float) -> Iterator[None]:
        """Stamp the attempt's heartbeat every `interval` seconds while the block runs."""
        watch = self._add(attempt_id, interval, cancel=None)
        try:
            yield
        finally:
            self._remove(watch)

    @contextlib.contextmanager
    def cancel_when_ended(
        self, attempt_id: int, cancel: Callable[[], None], *, interval: float
    ) -> Iterator[None]:
        """While the block runs, ask every `interval` seconds whether the attempt ended and
        call `cancel` (once, in a thread of its own: a slow engine must not hold the other
        attempts' checks) the first time it did. Leaving waits, bounded, for a cancel under
        way, so nothing is cancelled after the block."""
        watch = self._add(attempt_id, interval, cancel=cancel)
        try:
            yield
        finally:
            self._remove(watch)
            if watch.fired is not None:
                watch.fired.join(timeout=CANCEL_JOIN_SECONDS)

    def _add(self, attempt_id: int, interval: float, *, cancel: Callable[[], None] | None
             ) -> _Watch:
        watch = _Watch(attempt_id, interval, time.monotonic() + interval, cancel)
        with self._lock:
            watch.key = next(self._keys)
            self._watches[watch.key] = watch
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="attempt-watch",
                                                daemon=True)
                self._thread.start()
            self._lock.notify()
        return watch

    def _remove(self, watch: _Watch) -> None:
        with self._lock:
            self._watches.pop(watch.key, None)
            self._lock.notify()

    # -- the thread --------------------------------------------------------------------------

    def _run(self) -> None:
        """Never ends: every attempt of the process depends on it (a heartbeat that stops
        gets them failed by housekeeping), so a round that fails is logged and skipped."""
        while True:
            try:
                heartbeats, cancels = self._wait_for_due()
                if heartbeats:
                    _stamp(heartbeats)
                if cancels:
                    self._cancel_ended(cancels)
            except TRANSIENT_DB_ERRORS as exc:
                logger.warning("attempt watch skipped a round: %s", exc)
                drop_connection()
            except Exception:
                logger.exception("attempt watch round failed")
                drop_connection()
                time.sleep(FAILED_ROUND_PAUSE)  # not a busy loop if it keeps failing

    def _wait_for_due(self) -> tuple[list[int], list[_Watch]]:
        """Block until some registrations are due; return the heartbeats' attempt ids and
        the cancel watches due, each moved on by its interval. With nothing registered the
        connection is closed while the thread waits."""
        with self._lock:
            while True:
                if not self._watches:
                    drop_connection()
                    self._lock.wait()
                    continue
                now = time.monotonic()
                due = [w for w in self._watches.values()
                       if w.due <= now + EARLY_SHARE * w.interval]
                if due and all(w.due > now for w in due):
                    due = []  # only early ones: wait for the first that is really due
                if due:
                    for watch in due:
                        watch.due = now + watch.interval
                    heartbeats = sorted({w.attempt_id for w in due if w.cancel is None})
                    cancels = [w for w in due if w.cancel is not None and w.fired is None]
                    return heartbeats, cancels
                self._lock.wait(min(w.due for w in self._watches.values()) - now)

    def _cancel_ended(self, cancels: list[_Watch]) -> None:
        ended = _ended({w.attempt_id for w in cancels})
        if not ended:
            return
        with self._lock:
            for watch in cancels:
                if (watch.attempt_id in ended and watch.key in self._watches
                        and watch.fired is None and watch.cancel is not None):
                    watch.fired = threading.Thread(
                        target=_cancel, args=(watch.attempt_id, watch.cancel),
                        name=f"cancel-{watch.attempt_id}", daemon=True)
                    watch.fired.start()


def _stamp(attempt_ids: list[int]) -> None:
    Attempt.objects.filter(pk__in=attempt_ids, status=Status.RUNNING).update(
        heartbeat_at=timezone.now()
    )


def _ended(attempt_ids: set[int]) -> set[int]:
    return set(
        Attempt.objects.filter(pk__in=attempt_ids, status__in=FINISHED_STATUSES)
        .values_list("pk", flat=True)
    )


def _cancel(attempt_id: int, cancel: Callable[[], None]) -> None:
    try:
        cancel()
    except Exception:
        logger.warning("could not cancel the sandbox of attempt %s", attempt_id, exc_info=True)


_process_lock = threading.Lock()
_process_watch: tuple[int, AttemptWatch] | None = None


def attempt_watch() -> AttemptWatch:
    """This process's watch (a new one in a forked child: the parent's thread is not there)."""
    global _process_watch
    with _process_lock:
        if _process_watch is None or _process_watch[0] != os.getpid():
            _process_watch = (os.getpid(), AttemptWatch())
        return _process_watch[1]
