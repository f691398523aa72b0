"""Watching one running command: its time limit, the sandbox ending under it, the disk limit
when the engine has no quota. Says how the command ended; the caller takes its output."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from tasks.sandbox.lifetime import Lifetime
from tasks.sandbox.streaming import QueuedRun


@dataclass(frozen=True)
class DiskUse:
    """One measurement of what a sandbox wrote. `mb` None: the engine could not say. `hidden`:
    why part of it could not be looked into, as a sentence's end ("" when all was measured), so
    `mb` may be short of it."""

    mb: int | None
    hidden: str = ""


# The fastest a sandbox is assumed to write, in MB/s (a fast NVMe disk). Far below the limit
# the next measurement waits until even a writer this fast could just have reached it: each
# measurement is an exec in the container and an engine walk of its layer, and 20 attempts
# measuring every 2 s cost the host more CPU than their commands did.
ASSUMED_WRITE_MB_PER_SECOND = 1000.0
# ... but never more than this many base intervals (a limit of terabytes must still be checked).
MAX_INTERVAL_FACTOR = 8


def next_disk_check_in(use: DiskUse, *, limit_mb: int, base: float, spent: float) -> float:
    """Seconds until the next measurement after `use`: the base interval (and at least four
    times what measuring took, so at most a fifth of the time goes into it), longer while the
    room left would take even the assumed fastest writer longer to fill, up to
    MAX_INTERVAL_FACTOR base intervals. The base interval when the figure is missing or part
    of the tree was hidden (a second hidden check in a row kills the command)."""
    interval = max(base, 4 * spent)
    if use.mb is None or use.hidden:
        return interval
    room = (limit_mb - use.mb) / ASSUMED_WRITE_MB_PER_SECOND
    return max(interval, min(room, base * MAX_INTERVAL_FACTOR))


def first_disk_check_in(copied_bytes: int, *, limit_mb: int, base: float) -> float:
    """Seconds of command time until a new container's first measurement. Nothing has run in
    it yet: what it holds beyond its image is the checkout just copied in (`copied_bytes`, the
    archive's size, known without measuring), so that is its first figure and the schedule
    starts from it, as after a measurement (at 10 GB, the first check comes at 10 s instead of
    2 s: most attempts' commands end before it and are never measured)."""
    written = DiskUse(math.ceil(copied_bytes / (1024 * 1024)))
    return next_disk_check_in(written, limit_mb=limit_mb, base=base, spent=0.0)


class DiskBound:
    """What a sandbox may have written, shared by its commands and the watch between them
    (idle_watch.py): the limit, or — once processes were ended over it, what they wrote still
    there — the figure of then, lowered as files go. So the model can still delete what it has
    (`rm` in a sandbox over its limit is not killed) but nothing may write more. Not
    thread-safe: the command and the idle watch never measure at once (IdleDiskWatch.pause)."""

    def __init__(self, limit_mb: int) -> None:
        self.limit_mb = limit_mb
        self.over_mb = 0  # what was there, past the limit, when processes were last ended

    def ended(self, use: DiskUse) -> None:
        """The processes were ended past the limit: `use`, measured after, is what stays (they
        may have written more between the verdict's measurement and their end)."""
        if use.mb is not None and use.mb > self.limit_mb:
            self.over_mb = use.mb

    @property
    def ceiling_mb(self) -> int:
        return max(self.limit_mb, self.over_mb)

    def verdict(self, use: DiskUse, *, hidden_before: str) -> str:
        """Why `use` ends what runs ("" when it does not): the sandbox wrote more than the
        ceiling, or part of its tree stayed hidden from the measurement at two checks in a row
        (`hidden_before`: the previous check's `hidden`), as the end of a sentence. Past the
        limit, what is there becomes the ceiling (the processes are ended by the caller)."""
        if use.mb is not None and use.mb > self.ceiling_mb:
            self.over_mb = use.mb
            return (
                f"the sandbox's disk limit of {self.limit_mb} MB was reached ({use.mb} MB written)"
            )
        if use.mb is not None:  # within: files were deleted since, or it never went over
            self.over_mb = use.mb if use.mb > self.limit_mb else 0
        if use.hidden and hidden_before:
            return f"the sandbox's disk limit of {self.limit_mb} MB cannot be checked: {use.hidden}"
        return ""


@dataclass(frozen=True)
class Watched:
    error: str = ""  # why the command was killed ("" when it ended on its own)
    timed_out: bool = False
    killed: bool = False
    # Seconds of command time until the next disk measurement is due: the next command of the
    # sandbox starts its count there (0: at once), so a series of short commands is measured
    # too, and a long one after a measurement far below the limit is not measured again at 2 s.
    disk_due_in: float = 0.0
    # Killed for the disk limit: what earlier commands left running (a writer in the background)
    # must end too, or it goes on filling the host's disk between commands.
    over_disk: bool = False


def watch_command(
    run: QueuedRun,
    *,
    started: float,
    timeout: float,
    lifetime: Lifetime,
    kill: Callable[[], None],
    disk_bound: DiskBound,
    measure_disk: Callable[[], DiskUse] | None,
    disk_watch_seconds: float,
    disk_due_in: float | None = None,
) -> Watched:
    """Pump `run`'s output until it ends, the time limit passes (`kill`), the sandbox ends, or
    — with `measure_disk`, measured as often as `next_disk_check_in` says — what the sandbox
    wrote outgrows `disk_bound` (`kill`), or a
    folder stays hidden from the measurement at two checks in a row (`kill`: a folder made
    unreadable could otherwise hold any amount; a test that locks one for a moment passes).
    The first measurement is `disk_due_in` seconds in (what the sandbox's previous command left
    of its interval; the base interval when None)."""
    deadline = started + max(timeout, 0.1)
    next_disk_check = started + (disk_watch_seconds if disk_due_in is None else disk_due_in)
    hidden_before = ""
    # A measurement already due (the previous commands used up the interval) runs as soon as
    # this command started: what they wrote is judged before this one adds to it.
    while not run.pump(0.2 if measure_disk is None else _wait(next_disk_check, 0.2)):
        now = time.monotonic()
        if lifetime.ended:
            lifetime.stopped.wait(30)
            return Watched(error=lifetime.ended, killed=True)
        if now >= deadline:
            kill()
            return Watched(
                error=f"the command was killed after its time limit of {timeout:g} seconds",
                timed_out=True,
                killed=True,
            )
        if measure_disk is not None and now >= next_disk_check:
            use = measure_disk()
            # Measuring walks the writable layer; on a big tree it takes a while.
            spent = time.monotonic() - now
            next_disk_check = time.monotonic() + next_disk_check_in(
                use, limit_mb=disk_bound.ceiling_mb, base=disk_watch_seconds, spent=spent
            )
            verdict = disk_bound.verdict(use, hidden_before=hidden_before)
            if verdict:
                kill()
                return Watched(
                    error=f"the command was killed: {verdict}", killed=True, over_disk=True
                )
            hidden_before = use.hidden
    if lifetime.ended:  # the container was stopped under the command
        lifetime.stopped.wait(30)
        return Watched(error=lifetime.ended, killed=True)
    return Watched(disk_due_in=max(0.0, next_disk_check - time.monotonic()))


def _wait(due: float, most: float) -> float:
    return min(most, max(0.0, due - time.monotonic()))
