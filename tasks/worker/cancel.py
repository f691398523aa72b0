"""Stopping a sandbox when its attempt is cancelled (or ended elsewhere) while a step runs."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from tasks.agent.model_abort import ModelAbort
from tasks.background import every
from tasks.models import FINISHED_STATUSES, Attempt
from tasks.resilience import with_db_retry
from tasks.sandbox.base import Sandbox


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
    """While the block runs, poll the attempt and call `sandbox.cancel()` once it is cancelled
    (or was ended elsewhere, e.g. by housekeeping), so a long command stops within `interval`
    seconds, not at the next step; `model_call.abort()` too, so a model reply in flight (minutes
    of a reasoning model, and the person's tokens) stops as soon."""

    def ended() -> bool:
        return Attempt.objects.filter(pk=attempt_id, status__in=FINISHED_STATUSES).exists()

    with stop_when(ended, sandbox, interval=interval, name=f"cancel-watch-{attempt_id}",
                   also=model_call.abort if model_call is not None else None):
        yield


@contextlib.contextmanager
def stop_when(
    ended: Callable[[], bool], sandbox: Sandbox, *, interval: float, name: str,
    also: Callable[[], None] | None = None,
) -> Iterator[None]:
    """While the block runs, ask `ended()` every `interval` seconds and cancel the sandbox (its
    start or the command running) the first time it says yes; then call `also()`, if given."""

    def step() -> bool:
        if not ended():
            return False
        if also is not None:  # first: it is instant, the sandbox's cancel asks the engine
            also()
        sandbox.cancel()
        return True

    with every(interval, step, name=name):
        yield
