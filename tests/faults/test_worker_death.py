"""Item 1: a worker dies (SIGKILL) while its attempt runs a long command.

Housekeeping sees the worker that claimed it is gone (from another host: that its heartbeat
stopped) and ends it as failed with "the worker running this attempt stopped", removes its
container, and the page is told. The dead worker's job is never run again by itself (a
redelivery only ends the attempt); Retry makes a new attempt that runs.
"""

from __future__ import annotations

import pytest

from repos.services import repository_register
from tasks import event_kinds as kinds
from tasks.jobs import attempts_check_heartbeats, run_attempt
from tasks.models import Attempt, Event, Status
from tasks.services import LOST_WORKER_MESSAGE, attempt_retry, task_create
from tests.faults.conftest import attempt_containers, wait_for
from tests.support.model_server import call, reply

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]


def ask_task(team, author, repo_path, prompt="How long does this take?"):
    repository = repository_register(team=team, location=str(repo_path))
    return task_create(
        author=author, repository=repository, mode="ask", prompt=prompt, base_branch="main"
    )


def running_a_long_command(attempt: Attempt) -> bool:
    return Event.objects.filter(
        attempt=attempt, kind=kinds.COMMAND, payload__command="sleep 30"
    ).exists()


def kill_worker_mid_command(start_worker, model_server, docker_engine, acme, alice, repo):
    """Start a worker, let it run `sleep 30` in the attempt's container, SIGKILL it."""
    model_server.add(reply(call("shell", {"command": "sleep 30"})))
    worker = start_worker()
    attempt = ask_task(acme, alice, repo).attempts.get()
    wait_for(lambda: running_a_long_command(attempt), timeout=120, what="the sleep to start")
    first_beat = Attempt.objects.get(pk=attempt.pk).heartbeat_at
    wait_for(
        lambda: Attempt.objects.get(pk=attempt.pk).heartbeat_at > first_beat,
        timeout=10,
        what="the worker's heartbeat",
    )
    containers = attempt_containers(docker_engine, attempt.pk, pid=worker.process.pid)
    assert len(containers) == 1, worker.log()
    worker.kill()
    return attempt, containers


def heartbeat_stale(attempt: Attempt, seconds: float) -> bool:
    from django.utils import timezone

    beat = Attempt.objects.get(pk=attempt.pk).heartbeat_at
    return (timezone.now() - beat).total_seconds() > seconds


def test_housekeeping_fails_the_attempt_of_a_killed_worker_and_retry_runs_it_again(
    fault_settings, start_worker, model_server, docker_engine, acme, alice, fixture_repo
):
    attempt, containers = kill_worker_mid_command(
        start_worker, model_server, docker_engine, acme, alice, fixture_repo
    )
    assert Attempt.objects.get(pk=attempt.pk).status == Status.RUNNING
    # However fresh its heartbeat, the worker that claimed it is gone from this host:
    # housekeeping ends it at once (tasks/services.attempts_end_orphaned).
    fault_settings.ATTEMPT_HEARTBEAT_TIMEOUT_SECONDS = 3600

    ended = attempts_check_heartbeats()

    assert ended == [attempt.pk]
    attempt.refresh_from_db()
    assert attempt.status == Status.FAILED
    assert attempt.error == LOST_WORKER_MESSAGE
    assert attempt.error.startswith("The worker running this attempt stopped")
    assert attempt.task.status == Status.FAILED
    last = attempt.events.order_by("-seq").first()
    assert (last.kind, last.payload["status"]) == (kinds.STATUS, Status.FAILED)  # the page hears
    existing = {c["Id"] for c in docker_engine.api.containers(all=True)}
    assert not existing & set(containers), "the dead worker's container was removed"

    retry = attempt_retry(attempt=attempt, by=alice)
    model_server.add(reply("It takes thirty seconds."))
    start_worker()
    wait_for(
        lambda: Attempt.objects.get(pk=retry.pk).is_finished, timeout=120, what="the retry"
    )
    retry.refresh_from_db()
    assert (retry.index, retry.status) == (2, Status.SUCCEEDED), retry.error
    assert retry.summary == "It takes thirty seconds."
    attempt.refresh_from_db()
    assert attempt.status == Status.FAILED  # the lost one stays as it ended


def test_a_redelivered_job_of_a_dead_worker_ends_its_attempt_and_never_runs_it_again(
    fault_settings, start_worker, model_server, docker_engine, acme, alice, fixture_repo
):
    attempt, containers = kill_worker_mid_command(
        start_worker, model_server, docker_engine, acme, alice, fixture_repo
    )
    events_before = attempt.events.count()
    wait_for(
        lambda: heartbeat_stale(attempt, fault_settings.ATTEMPT_HEARTBEAT_TIMEOUT_SECONDS),
        timeout=fault_settings.ATTEMPT_HEARTBEAT_TIMEOUT_SECONDS + 10,
        what="the heartbeat to go stale",
    )

    run_attempt.apply(args=[attempt.pk])  # what a late acknowledgement redelivers

    attempt.refresh_from_db()
    assert attempt.status == Status.FAILED and attempt.error == LOST_WORKER_MESSAGE
    new_events = list(attempt.events.filter(seq__gt=events_before).order_by("seq"))
    assert [(e.kind, e.payload["status"]) for e in new_events] == [(kinds.STATUS, "failed")]
    assert model_server.remaining == 0 and len(model_server.requests) == 1  # not re-run
    existing = {c["Id"] for c in docker_engine.api.containers(all=True)}
    assert not existing & set(containers)
