"""A two-job Celery app for tests/faults/test_broker_loss.py: `hold` stands for a running
attempt (acknowledged late, like tasks.run_attempt), `mark` for the attempt started next.
Each job leaves a file behind, so the test sees what ran and when without a result backend.

`BROKER_LOSS_FIX=0` leaves kombu as it is, to show what the fix changes."""

from __future__ import annotations

import os
import time
from pathlib import Path

from celery import Celery

from codexweb import broker_loss

broker_loss.install()  # importing codexweb installs it already (its Celery app); said again here
if os.environ.get("BROKER_LOSS_FIX", "1") == "0":
    broker_loss.uninstall()

app = Celery("broker-loss", broker=os.environ["BROKER_LOSS_URL"])
app.conf.update(
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    broker_connection_max_retries=None,
    task_default_queue="attempts",
)


@app.task(name="test.hold", acks_late=True)
def hold(folder: str, seconds: float) -> None:
    (Path(folder) / "hold-started").touch()
    time.sleep(seconds)
    (Path(folder) / "hold-done").touch()


@app.task(name="test.mark", acks_late=True)
def mark(folder: str) -> None:
    (Path(folder) / "mark").touch()
