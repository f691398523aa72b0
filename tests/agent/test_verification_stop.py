"""A person stops a best-of-N re-verification while its check runs ("Stop" on the ranking, or
the API): the worker cancels the running command within seconds, removes the container and ends
the verification as unverified, saying who stopped it, instead of waiting out its time limit."""

from __future__ import annotations

import tempfile
import threading

import pytest
from django.db import connections

from repos.services import repository_register
from tasks.jobs import verify_patch
from tasks.models import Status
from tasks.services import attempt_claim, attempt_finish, task_create
from tasks.verification.models import Verification
from tasks.verification.services import VerificationError, verification_stop
from tests.support.best_of_n import running_its_check, slow_tests, verification_containers
from tests.support.calc_repo import FIX_DIFF, TESTS
from tests.support.processes import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]


def verify_as_a_worker_thread(verification_id: int) -> None:
    try:
        verify_patch(verification_id)
    finally:
        connections.close_all()  # this thread's own; the test database is dropped after


def test_a_stop_cancels_the_running_check_and_ends_the_verification_as_unverified(
    worker_settings, docker_engine, acme, alice, fixture_repo, empty_queue, tmp_path, monkeypatch
):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # this test's host folders only
    slow_tests(fixture_repo)  # its check sleeps 60 s
    repository = repository_register(team=acme, location=str(fixture_repo))
    task = task_create(author=alice, repository=repository, mode="code", prompt="Fix add.",
                       base_branch="main", attempts=2)
    fixed, failed = task.attempts.order_by("index")
    attempt_claim(attempt_id=fixed.pk)
    attempt_finish(attempt_id=fixed.pk, status=Status.SUCCEEDED, patch=FIX_DIFF, summary="Fixed.")
    attempt_finish(attempt_id=failed.pk, status=Status.FAILED, error="The model gave up.")
    verification = Verification.objects.get(attempt=fixed)
    worker = threading.Thread(target=verify_as_a_worker_thread, args=(verification.pk,),
                              daemon=True)
    worker.start()
    try:
        wait_until(lambda: running_its_check(verification), timeout=180,
                   what=f"the verification to run {TESTS}")
        assert len(verification_containers(docker_engine, verification.pk)) == 1
        # Its two host trees (the branch, the patched copy) went once the container had them.
        pattern = f"codexweb-verify-{verification.pk}-*"
        wait_until(lambda: not list(tmp_path.glob(pattern)), timeout=10,
                   what="the host trees to go while the check runs")

        stopping = verification_stop(verification=verification, by=alice)

        assert (stopping.status, stopping.stop_requested_by) == ("running", alice)
        worker.join(timeout=45)  # the check alone would sleep 60 s
        assert not worker.is_alive(), "the stop did not end the running check"
    finally:
        worker.join(timeout=120)

    done = Verification.objects.get(pk=verification.pk)
    assert (done.status, done.verdict) == ("done", "unverified")
    assert done.reason == "Stopped by alice before any check finished; the patch was not verified."
    assert done.results[0]["command"] == TESTS and done.results[0]["exit_code"] is None
    assert verification_containers(docker_engine, verification.pk) == []
    # Unverified still ranks above the attempt that left no patch.
    assert (done.rank, Verification.objects.get(attempt=failed).rank) == (1, 2)
    with pytest.raises(VerificationError, match="has already ended"):
        verification_stop(verification=done, by=alice)
