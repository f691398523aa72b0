"""The Celery application: one job drives one attempt (see tasks/jobs.py)."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "codexweb.settings")

app = Celery("codexweb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(
    ["tasks", "repos", "tasks.pull_requests", "tasks.notifications", "tasks.reviews"],
    related_name="jobs",
)


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
