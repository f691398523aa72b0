"""The disk limit between commands (an engine without quotas): while the model thinks, no
command runs and watch.py measures nothing, but a process an earlier command left in the
background (`nohup writer &`) can go on writing. One thread per sandbox, asleep while a command
runs, checks at the time the disk schedule says (watch.next_disk_check_in, carried on from the
last command) whether any process of the command users is still alive; only then does it
measure (an exec and an engine walk of the layer), and past the limit it ends those processes
and keeps a note for the next command's output.

The common case costs nothing: a command that ends before its disk check is due, or that left
nothing running, is followed by no measurement at all (one `docker top`, no exec, at most once
per command, to learn that nothing is left).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from tasks.sandbox.watch import DiskBound, DiskUse, next_disk_check_in

logger = logging.getLogger(__name__)


def user_processes_left(
    api: Any, container_id: str, *, init_pid: int, spare_pid: int
) -> bool | None:
    """Whether the container runs a process of a command user, the resident helper (host pid
    `spare_pid`, 0 when none) aside. Asked of the engine (`docker top`, about 10 ms of host CPU:
    host pids and uids, no exec): the command users are every uid but that of the container's
    PID 1 (host pid `init_pid`, root inside: the measurement's copy of `du`, the egress bridge),
    whatever uid mapping the engine uses. A process cannot fake its uid or host pid, as it
    could its name. None when `init_pid` is not the container's (it was restarted)."""
    rows = api.top(container_id, ps_args="-eo pid,uid")["Processes"] or []
    uids = {int(pid): uid for pid, uid, *_ in rows}
    root = uids.get(init_pid)
    if root is None:
        return None
    return any(uid != root and pid != spare_pid for pid, uid in uids.items())


class IdleDiskWatch:
    """Watches the disk between commands. `pause()` when a command starts (it waits for a
    check under way and returns what happened meanwhile), `resume(due_in)` when it ended (the
    command time left until the next disk check, watch.Watched.disk_due_in), `close()` at the
    end. `processes_left` says whether anything of the command users still runs; `measure`
    measures; `end_processes` ends them when the limit was passed (the helper spared)."""

    def __init__(
        self,
        *,
        processes_left: Callable[[], bool],
        measure: Callable[[], DiskUse],
        end_processes: Callable[[], None],
        bound: DiskBound,
        base: float,
    ) -> None:
        self._processes_left = processes_left
        self._measure = measure
        self._end_processes = end_processes
        self._bound = bound
        self._base = base
        self._cond = threading.Condition()
        self._due: float | None = None  # monotonic time of the next check; None: not watching
        self._closed = False
        self._note = ""
        self._hidden_before = ""
        self._thread: threading.Thread | None = None

    def resume(self, due_in: float) -> None:
        """A command ended: check at `due_in` seconds from now (0: at once)."""
        with self._cond:
            if self._closed:
                return
            self._due = time.monotonic() + max(0.0, due_in)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, daemon=True, name="sandbox-idle-disk"
                )
                self._thread.start()
            self._cond.notify()

    def pause(self, *, take_note: bool = True) -> tuple[str, float | None]:
        """A command starts: stop watching (after a check under way) and return the note of
        what was done between commands ("" when nothing, or when not `take_note`: it waits for
        a command whose output someone reads) and the seconds left until the next check was
        due (None when none was: the next command's own schedule applies)."""
        with self._cond:
            due, self._due = self._due, None
            note = ""
            if take_note:
                note, self._note = self._note, ""
        return note, None if due is None else max(0.0, due - time.monotonic())

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._due = None
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                if self._due is None or now < self._due:
                    self._cond.wait(None if self._due is None else self._due - now)
                    continue
                # Checked with the lock held: a command starting waits for it (pause()).
                try:
                    self._check()
                except Exception:  # an engine error: no watching until the next command ends
                    if not self._closed:  # (else the sandbox is being removed under it)
                        logger.warning("the disk check between commands failed", exc_info=True)
                    self._due = None

    def _check(self) -> None:
        started = time.monotonic()
        if not self._processes_left():
            self._due = None  # nothing can write until the next command starts
            return
        use = self._measure()
        verdict = self._bound.verdict(use, hidden_before=self._hidden_before)
        self._hidden_before = use.hidden
        if verdict:
            self._end_processes()
            self._bound.ended(self._measure())
            self._hidden_before = ""
            self._due = None
            self._note = (
                f"between commands, {verdict}; the processes earlier commands left running"
                " (in the background) were ended"
            )
            return
        spent = time.monotonic() - started
        self._due = time.monotonic() + next_disk_check_in(
            use, limit_mb=self._bound.ceiling_mb, base=self._base, spent=spent
        )
