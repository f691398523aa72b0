"""The Celery application: one job drives one attempt (see tasks/jobs.py)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from celery import Celery
from celery.signals import worker_init, worker_ready, worker_shutting_down

from codexweb import broker_loss

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "codexweb.settings")

broker_loss.install()  # a worker that loses Redis mid-attempt reconnects (broker_loss.py)
app = Celery("codexweb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(
    ["tasks", "repos", "tasks.pull_requests", "tasks.notifications", "tasks.reviews"],
    related_name="jobs",
)


def pool_named_on_command_line(argv: Sequence[str]) -> str | None:
    """The pool a `celery … worker` command line names with -P/--pool, or None.

    Celery cannot tell an explicit `--pool prefork` from its own default (prefork), so with
    `worker_pool` configured (WORKER_POOL, threads by default) it would silently run threads;
    reading the command line ourselves lets an explicit option win, as a person expects."""
    if "worker" not in argv:
        return None
    pool = None
    words = list(argv[list(argv).index("worker") + 1 :])
    for index, word in enumerate(words):
        if word in ("-P", "--pool") and index + 1 < len(words):
            pool = words[index + 1]
        elif word.startswith("--pool="):
            pool = word.removeprefix("--pool=")
        elif word.startswith("-P") and len(word) > 2:
            pool = word[2:]
    return pool


@app.on_after_configure.connect
def command_line_pool_wins(sender: Celery, **_: object) -> None:
    """An explicit `--pool` on the worker's command line overrides WORKER_POOL."""
    pool = pool_named_on_command_line(sys.argv)
    if pool:
        sender.conf.worker_pool = pool


@worker_init.connect
def preload_attempt_code(**_: object) -> None:
    """Import what an attempt runs (the agent, the sandbox, the openai and docker SDKs) once in
    the worker's main process, before its pool starts: the first attempts do not pay for it
    (about a second of CPU each; with WORKER_POOL=prefork every pool process would, twenty at
    once when twenty attempts arrive together on a small host)."""
    import django

    django.setup()
    import tasks.worker.attempt  # noqa: F401
    from tasks.worker.sandbox_settings import probe_engine

    probe_engine()


@worker_ready.connect
def end_attempts_of_dead_workers(**_: object) -> None:
    """A worker started again after one was killed: end the dead one's attempts now (failed,
    with a sentence; containers removed), not when housekeeping next looks at heartbeats."""
    import threading

    from tasks.worker.housekeeping import end_attempts_without_heartbeat_once

    threading.Thread(target=end_attempts_without_heartbeat_once, name="orphan-check",
                     daemon=True).start()


@worker_shutting_down.connect
def end_running_attempts(**_: object) -> None:
    """Told to stop, end the attempts this worker runs (failed, with a sentence; their
    containers removed) rather than wait for them: tasks/worker/shutdown.py."""
    from tasks.worker.shutdown import end_running_attempts_in_background

    end_running_attempts_in_background()
