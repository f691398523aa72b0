"""The worker's default pool (WORKER_POOL=threads): attempts run at once as threads of one
process, and when that process dies every attempt it ran is recovered.

One process instead of a process per attempt is what holds 20 attempts at once on a small host
(bench/load.py: ≈150 MB per prefork process); the price is that a killed worker takes all its
attempts with it, so housekeeping must end each of them and remove each container.
"""

from __future__ import annotations

import pytest

from repos.services import repository_register
from tasks import event_kinds as kinds
from tasks.jobs import attempts_check_heartbeats
from tasks.models import Attempt, Event, Status
from tasks.services import LOST_WORKER_MESSAGE, task_create
from tests.faults.conftest import attempt_containers, wait_for
from tests.support.model_server import call, reply

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]

SLEEP = "sleep 30"


def sleeping(attempt: Attempt) -> bool:
    return Event.objects.filter(
        attempt=attempt, kind=kinds.COMMAND, payload__command=SLEEP
    ).exists()


def test_a_thread_pool_worker_runs_attempts_at_once_and_its_death_ends_each_of_them(
    fault_settings, start_worker, model_server, docker_engine, acme, alice, fixture_repo
):
    repository = repository_register(team=acme, location=str(fixture_repo))
    model_server.add(*[reply(call("shell", {"command": SLEEP}))] * 2)
    # No --pool: the settings' pool, as `codexweb serve` and production start the worker.
    worker = start_worker("--concurrency", "2")
    assert "(thread)" in worker.log(), worker.log()  # Celery's banner: "concurrency: 2 (thread)"
    attempts = [
        task_create(author=alice, repository=repository, mode="ask", prompt=f"Wait {n}.",
                    base_branch="main").attempts.get()
        for n in (1, 2)
    ]

    wait_for(lambda: all(sleeping(a) for a in attempts), timeout=180,
             what="both attempts' commands running at once")
    containers = {a.pk: attempt_containers(docker_engine, a.pk, pid=worker.process.pid)
                  for a in attempts}
    assert all(len(found) == 1 for found in containers.values()), worker.log()
    worker.kill()

    ended: list[int] = []  # the two heartbeats went stale within a beat of each other

    def both_ended() -> bool:
        ended.extend(attempts_check_heartbeats())
        return len(ended) >= 2

    wait_for(both_ended, timeout=fault_settings.ATTEMPT_HEARTBEAT_TIMEOUT_SECONDS + 10,
             what="housekeeping to end the attempts")
    assert sorted(ended) == sorted(a.pk for a in attempts)
    for attempt in attempts:
        attempt.refresh_from_db()
        assert (attempt.status, attempt.error) == (Status.FAILED, LOST_WORKER_MESSAGE)
    existing = {c["Id"] for c in docker_engine.api.containers(all=True)}
    assert not existing & {cid for found in containers.values() for cid in found}


def test_an_explicit_pool_on_the_command_line_wins_over_worker_pool(start_worker):
    """Celery's `--pool` defaults to prefork, so it took an explicit `--pool prefork` for its
    default and ran the configured WORKER_POOL (threads) instead."""
    worker = start_worker("--pool", "prefork", "--concurrency", "1")
    assert "(prefork)" in worker.log(), worker.log()  # Celery's banner: "concurrency: 1 (prefork)"
