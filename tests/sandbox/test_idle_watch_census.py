"""The idle watch between commands (tasks/sandbox/idle_watch.py) as a state machine, with the
container's census and the measurement given as plain functions: what it measures, when it
ends processes, and what it tells the person. The real container cases (a background writer,
a fork bomb) are in tests/security/test_sandbox_disk_background.py."""

from __future__ import annotations

import threading
import time

from tasks.sandbox.idle_watch import Census, IdleDiskWatch
from tasks.sandbox.watch import DiskBound, DiskUse

LIMIT = 128


class Container:
    """What the watch sees: a census it reads, a disk it measures, processes it may end."""

    def __init__(self, census: Census) -> None:
        self.census = census
        self.use = DiskUse(10)  # far below the limit
        self.measured = 0
        self.ended = threading.Event()

    def count(self) -> Census:
        return self.census

    def measure(self) -> DiskUse:
        self.measured += 1
        return self.use

    def end(self) -> None:
        self.census = Census(users_left=False, total=1)
        self.ended.set()


def watching(container: Container) -> IdleDiskWatch:
    watch = IdleDiskWatch(
        census=container.count,
        process_limit=LIMIT,
        measure=container.measure,
        end_processes=container.end,
        bound=DiskBound(200),
        base=0.05,
    )
    watch.resume(0)
    return watch


def test_processes_filling_the_limit_are_ended_without_measuring_the_disk():
    """A fork bomb: the measurement's exec would get in only between its forks, so its figure
    would say nothing; two counts at the limit in a row end the processes."""
    container = Container(Census(users_left=True, total=LIMIT - 1))
    watch = watching(container)
    try:
        assert container.ended.wait(5), "the processes at the process limit were never ended"
        note = watch.take_note()
    finally:
        watch.close()
    assert "cannot be checked: its process limit of 128 is reached" in note
    assert "fork bomb" in note
    assert note.endswith("left running (in the background) were ended")
    assert container.measured == 1  # only after they were ended: what stays over the limit


def test_processes_below_the_limit_are_measured_and_left_running():
    container = Container(Census(users_left=True, total=LIMIT // 2))
    watch = watching(container)
    try:
        deadline = time.monotonic() + 5
        while container.measured < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        watch.close()
    assert container.measured >= 3
    assert not container.ended.is_set()
    assert watch.take_note() == ""


def test_nothing_left_running_is_neither_measured_nor_ended():
    container = Container(Census(users_left=False, total=LIMIT))  # root's own, not a command's
    watch = watching(container)
    time.sleep(0.3)
    watch.close()
    assert container.measured == 0
    assert not container.ended.is_set()
