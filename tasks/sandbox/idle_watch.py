"""The disk limit between commands (an engine without quotas): while the model thinks, no
command runs and watch.py measures nothing, but a process an earlier command left in the
background (`nohup writer &`) can go on writing. One thread per sandbox, asleep while a command
runs, checks at the time the disk schedule says (watch.next_disk_check_in, carried on from the
last command) whether any process of the command users is still alive; only then does it
measure (an exec and an engine walk of the layer), and past the limit it ends those processes
and keeps a note for the next command's output.

The common case costs nothing: a command that ends before its disk check is due, or that left
nothing running, is followed by no measurement at all (a read of the container's cgroup on this
host, or one `docker top` where the engine's processes are not visible here, no exec, at most
once per command, to learn that nothing is left).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.sandbox.watch import DiskBound, DiskUse, next_disk_check_in

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Census:
    """The container's processes between commands, from one read of them."""

    users_left: bool  # a process of the command users runs (the resident helper aside)
    total: int  # every process of the container, root's included


def process_census(
    api: Any, container_id: str, *, init_pid: int, spare_pid: int
) -> Census | None:
    """Whether the container runs a process of a command user, the resident helper (host pid
    `spare_pid`, 0 when none) aside, and how many processes it runs: the command users are
    every uid but that of the container's PID 1 (host pid `init_pid`, root inside: the
    measurement's copy of `du`, the egress bridge), whatever uid mapping the engine uses. A
    process cannot fake its uid or host pid, as it could its name. Read from this host's cgroup
    and /proc when the engine's processes are visible here (`cgroup_processes`), else asked of
    the engine (`docker top`: a `runc ps` and a `ps`, ~0.1 s of host CPU under load; 20
    attempts asking after every command cost half a CPU-second each). None when `init_pid` is
    not the container's (it was restarted)."""
    uids = container_processes(api, container_id, init_pid=init_pid)
    root = uids.get(init_pid)
    if root is None:
        return None
    left = any(uid != root and pid != spare_pid for pid, uid in uids.items())
    return Census(users_left=left, total=len(uids))


def user_processes_left(
    api: Any, container_id: str, *, init_pid: int, spare_pid: int
) -> bool | None:
    """`process_census`'s first half: whether a command user's process runs (None: unknown)."""
    census = process_census(api, container_id, init_pid=init_pid, spare_pid=spare_pid)
    return None if census is None else census.users_left


def container_processes(api: Any, container_id: str, *, init_pid: int) -> dict[int, int]:
    """Host pid → effective uid of every process of the container: from this host's cgroup
    and /proc when visible (`cgroup_processes`), else asked of the engine (`docker top`)."""
    uids = cgroup_processes(container_id, init_pid)
    if uids is None:
        rows = api.top(container_id, ps_args="-eo pid,uid")["Processes"] or []
        uids = {int(pid): int(uid) for pid, uid, *_ in rows}
    return uids


def near_process_limit(count: int, limit: int) -> bool:
    """Whether `count` processes fill the container's process limit `limit` (nearly: a process
    may have ended or be starting as they were counted), so nothing more can start in it, not
    even the disk measurement's exec: what a fork bomb does."""
    return count >= limit - max(2, limit // 10)


def process_limit_reason(limit: int) -> str:
    """Why the disk cannot be measured when the processes fill the limit, for a person."""
    return (
        f"its process limit of {limit} is reached (a process keeps starting processes, as a fork"
        " bomb does), so nothing can start in it to measure"
    )


# Checks in a row an engine error may fail (each retried after base × 2^n seconds) before the
# watch rests until the next command ends.
MAX_FAILED_CHECKS = 5

CGROUP_ROOT = Path("/sys/fs/cgroup")
MAX_CGROUPS = 64  # a container's cgroup and what it may have made below it, read at most


def cgroup_processes(container_id: str, init_pid: int) -> dict[int, int] | None:
    """Host pid → effective uid of every process in the cgroup of `container_id`'s PID 1 (host
    pid `init_pid`), from this host's /proc and cgroup file system (v1's pids controller or
    v2's unified tree): nothing runs, nothing in the container's tree is read. None when that
    is not visible here (a remote engine, this process in another pid namespace) or `init_pid`
    is not that container's: the caller asks the engine instead."""
    if init_pid <= 0 or not container_id:
        return None
    try:
        lines = Path(f"/proc/{init_pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    for folder in _cgroup_folders(lines, container_id):
        pids = _cgroup_pids(folder)
        if pids is None or init_pid not in pids:
            continue
        uids: dict[int, int] = {}
        for pid in pids:
            uid = _effective_uid(pid)
            if uid is not None:  # ended meanwhile
                uids[pid] = uid
        return uids if init_pid in uids else None
    return None


def _cgroup_folders(lines: list[str], container_id: str) -> list[Path]:
    """Where the container's cgroup may be mounted, from PID 1's /proc/<pid>/cgroup lines. The
    engine names it after the container's id: a process of another pid namespace under the same
    number is not taken for it."""
    folders: list[Path] = []
    for line in lines:
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if container_id not in path:
            continue
        relative = path.lstrip("/")
        if controllers == "pids":  # cgroup v1
            folders.append(CGROUP_ROOT / "pids" / relative)
        elif controllers == "":  # v2: the whole tree, or a hybrid host's unified mount
            folders += [CGROUP_ROOT / relative, CGROUP_ROOT / "unified" / relative]
    return folders


def _cgroup_pids(folder: Path) -> set[int] | None:
    """Every pid in `folder` and the cgroups below it (at most MAX_CGROUPS); None when
    unreadable."""
    pids: set[int] = set()
    try:
        for count, (dirpath, _dirs, _files) in enumerate(os.walk(folder)):
            if count >= MAX_CGROUPS:
                return None
            pids.update(int(p) for p in Path(dirpath, "cgroup.procs").read_text().split())
    except (OSError, ValueError):
        return None
    return pids or None


def _effective_uid(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[2])
    return None


class IdleDiskWatch:
    """Watches the disk between commands. `pause()` when a command starts (it waits for a
    check under way and returns what happened meanwhile), `resume(due_in)` when it ended (the
    command time left until the next disk check, watch.Watched.disk_due_in), `close()` at the
    end. `census` says whether anything of the command users still runs and how many
    processes the container holds (of `process_limit`); `measure` measures; `end_processes`
    ends them when the limit was passed (the helper spared).

    Processes that fill the process limit (a fork bomb left in the background) are not
    measured: the measurement's exec could start only now and then, between their forks, and
    every figure it got would hide that nothing else can run. They count as a check that
    could not see the disk, and two such checks in a row end them, as a hidden part of the
    tree does."""

    def __init__(
        self,
        *,
        census: Callable[[], Census],
        process_limit: int,
        measure: Callable[[], DiskUse],
        end_processes: Callable[[], None],
        bound: DiskBound,
        base: float,
    ) -> None:
        self._census = census
        self._process_limit = process_limit
        self._measure = measure
        self._end_processes = end_processes
        self._bound = bound
        self._base = base
        self._cond = threading.Condition()
        self._due: float | None = None  # monotonic time of the next check; None: not watching
        self._closed = False
        # What was done between commands, until a command's output or take_note() carries it.
        self._note = ""
        self._hidden_before = ""
        self._thread: threading.Thread | None = None
        self._failures = 0  # checks in a row that failed (an engine error)

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
            note = self.take_note() if take_note else ""
        return note, None if due is None else max(0.0, due - time.monotonic())

    def take_note(self) -> str:
        """The note of what was done between commands that no command's output carried yet
        ("" when none), given once: when no command follows (the model writes its answer),
        the agent hands it to the model and the summary instead. Waits for a check under way
        (processes being ended: their note comes with it)."""
        with self._cond:  # reentrant: pause() takes it holding the lock
            note, self._note = self._note, ""
        return note

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
                    self._failures = 0
                except Exception:  # an engine error (a container restarting): try again later
                    self._failures += 1
                    if self._closed:  # the sandbox is being removed under it
                        self._due = None
                        continue
                    logger.warning(
                        "the disk check between commands failed (%d in a row)",
                        self._failures,
                        exc_info=self._failures == 1,
                    )
                    self._due = (
                        time.monotonic() + self._base * 2 ** self._failures
                        if self._failures <= MAX_FAILED_CHECKS
                        else None  # no watching until the next command ends
                    )

    def _check(self) -> None:
        started = time.monotonic()
        census = self._census()
        if not census.users_left:
            self._due = None  # nothing can write until the next command starts
            return
        if near_process_limit(census.total, self._process_limit):
            use = DiskUse(None, process_limit_reason(self._process_limit))
        else:
            use = self._measure()
        verdict = self._bound.verdict(use, hidden_before=self._hidden_before)
        self._hidden_before = use.hidden
        if verdict:
            self._end_processes()
            self._hidden_before = ""
            self._due = None
            # Kept before measuring again: that measurement may fail (a container restarted to
            # end a fork bomb), and the person must still learn why their processes went.
            self._note = (
                f"between commands, {verdict}; the processes earlier commands left running"
                " (in the background) were ended"
            )
            self._bound.ended(self._measure())
            return
        spent = time.monotonic() - started
        self._due = time.monotonic() + next_disk_check_in(
            use, limit_mb=self._bound.ceiling_mb, base=self._base, spent=spent
        )
