"""Removing an ended attempt's container after its worker slot is free again.

Removing a container with its workspace volume deletes every file of the checkout: on a
7,000-file repository that took 1.1–2.5 s, during which the worker's slot stayed taken after
the attempt already showed Succeeded, and the next queued attempt waited for it. The sandbox's
`stop(remove_later=True)` now kills the container at once (nothing of the attempt runs after
it) and hands the removal to this process's remover thread.

Removals wait in order, at most MAX_PENDING of them: past that the caller removes its own (the
engine is slower than attempts end, and the slot is what keeps the backlog bounded). A removal
the engine refuses is left to the reaper, which finds the container by its labels, as after a
`stop()` that could not remove it. The process drains what is left when it exits (`atexit`,
bounded by DRAIN_AT_EXIT_SECONDS); a killed worker's containers go to the reaper too.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
from dataclasses import dataclass

import docker
from docker.errors import NotFound

from tasks.sandbox.engine import ENGINE_ERRORS

logger = logging.getLogger(__name__)

MAX_PENDING = 8
DRAIN_AT_EXIT_SECONDS = 30.0


@dataclass(frozen=True)
class _Removal:
    api: docker.APIClient
    container_id: str


_queue: queue.Queue[_Removal] = queue.Queue()
_lock = threading.Lock()
_idle = threading.Condition(_lock)
_pending = 0
_thread: threading.Thread | None = None


def remove_container(api: docker.APIClient, container_id: str) -> None:
    """Remove the container and its anonymous volumes now; a container already gone is fine,
    one the engine will not remove is logged and left to the reaper."""
    try:
        api.remove_container(container_id, force=True, v=True)
    except NotFound:
        pass
    except ENGINE_ERRORS as exc:  # e.g. 409 removal already in progress (housekeeping)
        logger.warning("could not remove sandbox %s: %s", container_id, exc)


def remove_later(api: docker.APIClient, container_id: str) -> bool:
    """Queue the removal of a stopped container; False when MAX_PENDING are already waiting
    and it was removed here instead."""
    global _pending
    with _lock:
        queued = _pending < MAX_PENDING
        if queued:
            _pending += 1
            _start_thread()
    if not queued:
        remove_container(api, container_id)
        return False
    _queue.put(_Removal(api, container_id))
    return True


def pending() -> int:
    """How many removals are queued or under way."""
    with _lock:
        return _pending


def drain(timeout: float) -> bool:
    """Wait up to `timeout` seconds for every queued removal to end; whether they all did."""
    with _idle:
        return _idle.wait_for(lambda: _pending == 0, timeout=timeout)


def _start_thread() -> None:
    global _thread
    if _thread is None or not _thread.is_alive():
        _thread = threading.Thread(target=_remove_queued, name="sandbox-removal", daemon=True)
        _thread.start()


def _remove_queued() -> None:
    global _pending
    while True:
        removal = _queue.get()
        try:
            remove_container(removal.api, removal.container_id)
        except Exception:  # never let one removal end the thread that does the others
            logger.exception("removing sandbox %s failed", removal.container_id)
        finally:
            with _idle:
                _pending -= 1
                _idle.notify_all()


def _forget_after_fork() -> None:
    """A forked child (a prefork pool process) has no remover thread and may have copied the
    lock held: it starts with nothing queued (the parent removes what it queued)."""
    global _queue, _lock, _idle, _pending, _thread
    _queue, _lock = queue.Queue(), threading.Lock()
    _idle, _pending, _thread = threading.Condition(_lock), 0, None


os.register_at_fork(after_in_child=_forget_after_fork)


@atexit.register
def _drain_at_exit() -> None:
    if pending() and not drain(DRAIN_AT_EXIT_SECONDS):
        logger.warning(
            "%d sandbox removals were still waiting at exit; the reaper removes them", pending()
        )
