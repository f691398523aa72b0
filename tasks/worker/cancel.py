"""Stopping a sandbox when its attempt is cancelled (or ended elsewhere) while a step runs."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from tasks.agent.model_abort import ModelAbort
from tasks.background import every
from tasks.models import FINISHED_STATUSES, Attempt
from tasks.resilience import with_db_retry
from tasks.sandbox.base import Sandbox
from tasks.worker.attempt_watch import attempt_watch


def attempt_cancelled(attempt_id: int) -> bool:
    """Whether the attempt was ended from outside while it ran: a person cancelled it, or
    housekeeping or a stopping worker (tasks/worker/shutdown.py) failed it. Asked between
    steps; a database that is briefly away is waited for."""
    return with_db_retry(
        lambda: Attempt.objects.filter(pk=attempt_id, status__in=FINISHED_STATUSES).exists(),
        what="check for cancellation",
    )


@contextlib.contextmanager
def cancel_watch(attempt_id: int, sandbox: Sandbox, *, interval: float = 2.0,
                 model_call: ModelAbort | None = None) -> Iterator[None]:
    """While the block runs, check the attempt every `interval` seconds and, once it is
    cancelled (or was ended elsewhere, e.g. by housekeeping), call `model_call.abort()` (a
    model reply in flight: minutes of a reasoning model, and the person's tokens) and
    `sandbox.cancel()`, so a long command or reply stops within `interval` seconds, not at the
    next step. The process's watch thread asks for all its attempts in one query
    (tasks/worker/attempt_watch.py)."""

    def cancel() -> None:
        if model_call is not None:  # first: it is instant, the sandbox's cancel asks the engine
            model_call.abort()
        sandbox.cancel()

    with attempt_watch().cancel_when_ended(attempt_id, cancel, interval=interval):
        yield


@contextlib.contextmanager
def stop_when(
    ended: Callable[[], bool], sandbox: Sandbox, *, interval: float, name: str
) -> Iterator[None]:
    """While the block runs, ask `ended()` every `interval` seconds and cancel the sandbox (its
    start or the command running) the first time it says yes."""

    def step() -> bool:
        if not ended():
            return False
        sandbox.cancel()
        return True

    with every(interval, step, name=name):
        yield
