"""The worker process's one watch thread (tasks/worker/attempt_watch.py): the heartbeats and
cancel checks of every attempt it runs, in shared statements, instead of threads per attempt."""

from __future__ import annotations

import threading
import time

import pytest

from tasks.models import Attempt, Status
from tasks.worker.attempt_watch import attempt_watch
from tasks.worker.cancel import cancel_watch
from tasks.worker.heartbeat import heartbeat
from tests.support import factories

pytestmark = pytest.mark.django_db(transaction=True)


def running_attempts(count: int) -> list[Attempt]:
    alice, repository = factories.make_alice_and_webapp()
    task = factories.make_task(repository, alice, attempts=count)
    attempts = list(task.attempts.order_by("pk"))
    Attempt.objects.filter(pk__in=[a.pk for a in attempts]).update(status=Status.RUNNING)
    return attempts


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def watch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "attempt-watch" and t.is_alive()]


class Cancelled:
    def __init__(self) -> None:
        self.calls = 0

    def cancel(self) -> None:
        self.calls += 1


def test_the_heartbeats_of_attempts_started_together_are_stamped_by_one_statement():
    attempts = running_attempts(3)
    ids = [a.pk for a in attempts]
    Attempt.objects.filter(pk__in=ids).update(heartbeat_at=None)
    with heartbeat(ids[0], interval=0.3), heartbeat(ids[1], interval=0.3), \
            heartbeat(ids[2], interval=0.3):
        assert wait_for(lambda: all(
            Attempt.objects.filter(pk__in=ids).values_list("heartbeat_at", flat=True)))
        assert len(watch_threads()) == 1
    stamps = set(Attempt.objects.filter(pk__in=ids).values_list("heartbeat_at", flat=True))
    assert len(stamps) == 1, stamps  # one UPDATE stamped all three with one now()


def test_a_heartbeat_stops_with_its_block_and_skips_an_ended_attempt():
    first, second = running_attempts(2)
    with heartbeat(first.pk, interval=0.1):
        with heartbeat(second.pk, interval=0.1):
            pass
        Attempt.objects.filter(pk=second.pk).update(heartbeat_at=None)
        Attempt.objects.filter(pk=first.pk).update(status=Status.CANCELLED, heartbeat_at=None)
        time.sleep(0.5)  # several rounds of the first one's heartbeat
    assert Attempt.objects.get(pk=second.pk).heartbeat_at is None  # its block had ended
    assert Attempt.objects.get(pk=first.pk).heartbeat_at is None  # no longer running


def test_only_the_ended_attempts_sandbox_is_cancelled_and_only_once():
    ended, still_running = running_attempts(2)
    gone, kept = Cancelled(), Cancelled()
    with cancel_watch(ended.pk, gone, interval=0.05), \
            cancel_watch(still_running.pk, kept, interval=0.05):
        Attempt.objects.filter(pk=ended.pk).update(status=Status.CANCELLED)
        assert wait_for(lambda: gone.calls == 1)
        time.sleep(0.3)  # several more rounds
    assert gone.calls == 1
    assert kept.calls == 0


def test_nothing_is_cancelled_after_the_watch_block_ended():
    (attempt,) = running_attempts(1)
    sandbox = Cancelled()
    with cancel_watch(attempt.pk, sandbox, interval=0.05):
        pass
    Attempt.objects.filter(pk=attempt.pk).update(status=Status.CANCELLED)
    time.sleep(0.3)
    assert sandbox.calls == 0


def test_a_slow_cancel_does_not_hold_the_other_attempts_checks():
    slow_attempt, other_attempt = running_attempts(2)
    release = threading.Event()
    other = Cancelled()

    class Slow:
        def cancel(self) -> None:
            release.wait(10)

    with cancel_watch(slow_attempt.pk, Slow(), interval=0.05):
        with cancel_watch(other_attempt.pk, other, interval=0.05):
            Attempt.objects.filter(pk=slow_attempt.pk).update(status=Status.CANCELLED)
            time.sleep(0.2)  # the slow cancel has started and hangs
            Attempt.objects.filter(pk=other_attempt.pk).update(status=Status.CANCELLED)
            assert wait_for(lambda: other.calls == 1, timeout=5)
        release.set()


def test_a_watch_whose_connection_was_ended_stamps_again_on_a_new_one():
    from django.db import connection

    (attempt,) = running_attempts(1)
    with heartbeat(attempt.pk, interval=0.05):
        assert wait_for(lambda: Attempt.objects.get(pk=attempt.pk).heartbeat_at is not None)
        with connection.cursor() as cursor:  # a database restart, as the watch thread sees it
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND datname = current_database() "
                "AND query LIKE 'UPDATE%%heartbeat_at%%'")
            ended = cursor.fetchall()
        Attempt.objects.filter(pk=attempt.pk).update(heartbeat_at=None)
        assert wait_for(lambda: Attempt.objects.get(pk=attempt.pk).heartbeat_at is not None)
    assert ended, "the watch thread's connection was found and ended"
    assert attempt_watch() is attempt_watch()  # the same watch, its thread carried on
