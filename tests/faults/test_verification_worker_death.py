"""A worker dies (SIGKILL) while it re-verifies a best-of-N patch (issue 15, item 5).

The verification's heartbeat stops; the heartbeat check removes its container and queues it
again (it resumes from the start in a fresh container, on the next worker), and the rerun ends
with a verdict within its time limit. Never left "verifying" for good."""

from __future__ import annotations

import pytest

from repos.services import repository_register
from tasks.jobs import attempts_check_heartbeats, verify_patch
from tasks.models import Status
from tasks.services import attempt_claim, attempt_finish, task_create
from tasks.verification.models import Verification
from tests.faults.conftest import wait_for
from tests.support.best_of_n import running_its_check, slow_tests, verification_containers
from tests.support.calc_repo import FIX_DIFF, TESTS
from tests.support.celery_queue import queued_jobs

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]


def test_a_verification_whose_worker_died_is_queued_again_and_ends_with_a_verdict(
    fault_settings, start_worker, docker_engine, acme, alice, fixture_repo
):
    slow_tests(fixture_repo)
    repository = repository_register(team=acme, location=str(fixture_repo))
    task = task_create(author=alice, repository=repository, mode="code", prompt="Fix add.",
                       base_branch="main", attempts=2)
    fixed, failed = task.attempts.order_by("index")
    worker = start_worker()
    attempt_claim(attempt_id=fixed.pk)
    attempt_finish(attempt_id=fixed.pk, status=Status.SUCCEEDED, patch=FIX_DIFF, summary="Fixed.")
    # The last attempt to end starts re-verification: one patch to verify, one "no patch".
    attempt_finish(attempt_id=failed.pk, status=Status.FAILED, error="The model gave up.")
    verification = Verification.objects.get(attempt=fixed)
    assert Verification.objects.get(attempt=failed).verdict == "no_patch"

    wait_for(lambda: running_its_check(verification), timeout=180,
             what=f"the worker to run {TESTS}\n{worker.log()}")
    containers = verification_containers(docker_engine, verification.pk)
    assert len(containers) == 1, worker.log()
    worker.kill()
    assert Verification.objects.get(pk=verification.pk).status == "running"

    def recovered() -> bool:
        attempts_check_heartbeats()  # the periodic job: attempts and verifications alike
        return Verification.objects.get(pk=verification.pk).status == "queued"

    wait_for(recovered, timeout=fault_settings.ATTEMPT_HEARTBEAT_TIMEOUT_SECONDS + 15,
             what="the heartbeat check to notice the dead worker")

    again = Verification.objects.get(pk=verification.pk)
    assert (again.status, again.runs, again.results) == ("queued", 1, [])
    assert verification_containers(docker_engine, verification.pk) == []
    assert [verification.pk] in [j.args for j in queued_jobs() if j.task == "tasks.verify_patch"]

    # The next worker takes it again from the start; its time limit bounds the slow check.
    fault_settings.VERIFY_COMMAND_TIMEOUT_SECONDS = 5
    verify_patch(verification.pk)

    done = Verification.objects.get(pk=verification.pk)
    assert (done.status, done.verdict, done.runs) == ("done", "checks_failed", 2)
    assert done.reason == f"`{TESTS}` timed out."
    assert done.results[0]["timed_out"] is True
    assert done.rank == 1 and done.rank_reason.startswith("#1 of 2: some checks fail")
    assert verification_containers(docker_engine, verification.pk) == []
