"""Run by tests/faults/test_sqlite_concurrency.py in a child process on the embedded default's
settings (`codexweb.settings`, SQLite in CODEXWEB_VAR_DIR): several tasks of best-of-4, every
attempt driven at once by its own thread exactly as a worker drives it (claim, heartbeat,
events, finish), while a page thread reads the log. Prints a JSON report on stdout.

    python -m tests.faults.sqlite_writers TASKS EVENTS_PER_ATTEMPT
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import traceback


class Recorder(logging.Handler):
    """Keeps every warning: a retried "database is locked" must show up in the report."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def main(tasks: int, events_per_attempt: int) -> dict:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    recorder = Recorder()
    logging.getLogger().addHandler(recorder)

    from tasks import events, services
    from tasks.models import Attempt, Event, Status
    from tasks.worker.heartbeat import heartbeat
    from tests.support import factories

    alice, repository = factories.make_alice_and_webapp()
    attempt_ids = [
        a.pk
        for _ in range(tasks)
        for a in factories.make_task(repository, alice, attempts=4).attempts.all()
    ]
    errors: list[str] = []
    start = threading.Barrier(len(attempt_ids) + 1)
    done = threading.Event()

    def drive(attempt_id: int) -> None:
        try:
            start.wait()
            assert services.attempt_claim(attempt_id=attempt_id)
            with heartbeat(attempt_id, interval=0.05):
                events.publish(attempt_id, "status", {"status": "running", "message": "go"})
                for n in range(events_per_attempt):
                    events.publish(attempt_id, "output", {"chunk_id": "c", "text": f"line {n}\n"})
                services.attempt_finish(attempt_id=attempt_id, status=Status.SUCCEEDED)
        except Exception:
            errors.append(traceback.format_exc())
        finally:
            connection.close()

    def read_pages() -> None:
        try:
            start.wait()
            while not done.is_set():
                list(Event.objects.filter(attempt_id__in=attempt_ids).order_by("-id")[:200])
                list(Attempt.objects.filter(pk__in=attempt_ids).values("status", "last_seq"))
        except Exception:
            errors.append(traceback.format_exc())
        finally:
            connection.close()

    threads = [threading.Thread(target=drive, args=(i,)) for i in attempt_ids]
    reader = threading.Thread(target=read_pages)
    for thread in [*threads, reader]:
        thread.start()
    started = time.monotonic()
    for thread in threads:
        thread.join(timeout=300)
    elapsed = time.monotonic() - started
    done.set()
    reader.join(timeout=30)
    attempts = {
        a.pk: {"status": a.status, "last_seq": a.last_seq, "events": a.events.count()}
        for a in Attempt.objects.filter(pk__in=attempt_ids)
    }
    return {
        "engine": settings.DATABASES["default"]["ENGINE"],
        "journal_mode": _pragma("journal_mode"),
        "attempts": attempts,
        "errors": errors,
        "warnings": recorder.messages,
        "events_written": sum(a["events"] for a in attempts.values()),
        "seconds": round(elapsed, 2),
    }


def _pragma(name: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA {name}")
        return str(cursor.fetchone()[0])


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]))))
