"""Running app code from a browser test the way the Celery worker would."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from django.db import connection


def as_worker(fn, /, *args, **kwargs):
    """Run `fn` the way the Celery worker would: in a thread with no event loop (Playwright's sync
    API keeps one in this thread, where `async_to_sync(group_send)` cannot run) and its own
    database connection, closed afterwards."""

    def call():
        try:
            return fn(*args, **kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result(timeout=60)


def worker_start(attempt) -> None:  # noqa: ANN001
    """What the worker does first: claim the attempt and say so."""
    from tasks import services
    from tasks.events import publish
    from tasks.models import Status

    assert as_worker(services.attempt_claim, attempt_id=attempt.pk)
    publish(attempt.pk, "status", {"status": Status.RUNNING, "message": "Worker started."})


def publish_as_worker(attempt_id: int, kind: str, payload: dict) -> None:
    """Append and announce an event as the worker would (tasks.events.publish)."""
    from tasks.events import publish

    as_worker(publish, attempt_id, kind, payload)


def alice_calc_task(*, prompt: str, attempts: int):  # noqa: ANN201
    """Alice, admin of Acme, and her Code task on acme/calc with `attempts` attempts."""
    from tests.support import factories

    alice = factories.make_user("alice")
    acme = factories.make_team("Acme", admin=alice)
    repo = factories.make_repository(acme, owner="acme", name="calc")
    task = factories.make_task(repo, alice, prompt=prompt, mode="code", attempts=attempts)
    return alice, task
