"""The Celery application: one job drives one attempt (see tasks/jobs.py)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "codexweb.settings")

app = Celery("codexweb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(
    ["tasks", "repos", "tasks.pull_requests", "tasks.notifications", "tasks.reviews"],
    related_name="jobs",
)
