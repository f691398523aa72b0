"""Best-of-N ranked by re-verification (issue 15, item 5), end to end as the worker runs it: a
best-of-3 Code task on the calc repository (tests/support/calc_repo.py), each attempt run by the
scripted model in a real Docker sandbox; when the last one ends, each patch is applied to a fresh
checkout and AGENTS.md's test command runs in a fresh container. The attempt whose patch breaks
the tests ranks last, with the failing command and its output as evidence; hunks picked from two
attempts make a combined patch that is verified the same way before Create PR accepts it."""

from __future__ import annotations

import pytest

from repos.services import repository_register
from tasks.jobs import run_attempt, verify_patch
from tasks.models import Status
from tasks.services import task_create
from tasks.verification.hunks import patch_hunks
from tasks.verification.models import Verification
from tasks.verification.selectors import combined_patch_blocker, task_ranking
from tasks.verification.services import VerificationError, combined_patch_create
from tests.support.calc_repo import FIX, TESTS
from tests.support.celery_queue import queued_jobs
from tests.support.model_server import call, reply

pytestmark = pytest.mark.docker

BROKEN = ("*** Begin Patch\n*** Update File: calc.py\n@@ def add(a, b):\n-    return a - b\n"
          "+    return a * b\n*** End Patch")
FIX_WITH_NOTES = ("*** Begin Patch\n*** Add File: NOTES.md\n+`add` adds its arguments.\n"
                  "*** Update File: calc.py\n@@ def add(a, b):\n-    return a - b\n"
                  "+    return a + b\n*** End Patch")


def attempt_script(patch: str) -> tuple:
    """Edit, run the tests (AGENTS.md asks for it; the agent is reminded otherwise), answer."""
    return (reply(call("apply_patch", {"patch": patch})), reply(call("shell", {"command": TESTS})),
            reply("Changed `add` in calc.py."))


def test_best_of_three_ranks_the_broken_patch_last_and_a_hunk_pick_is_verified(
    worker_settings, model_server, acme, alice, fixture_repo, empty_queue,
    django_capture_on_commit_callbacks,
):
    # This test's rows live in its own open transaction: a heartbeat thread (another connection)
    # would wait for their locks, so the verifications' heartbeat never needs to beat here.
    worker_settings.ATTEMPT_HEARTBEAT_SECONDS = 300
    model_server.add(*attempt_script(FIX), *attempt_script(BROKEN),
                     *attempt_script(FIX_WITH_NOTES))
    repository = repository_register(team=acme, location=str(fixture_repo))
    task = task_create(author=alice, repository=repository, mode="code",
                       prompt="Fix the failing test.", base_branch="main", attempts=3)
    first, broken, third = task.attempts.order_by("index")
    run_attempt(first.pk)
    run_attempt(broken.pk)
    assert not Verification.objects.filter(task=task).exists()  # not before the last one ends

    with django_capture_on_commit_callbacks(execute=True):
        run_attempt(third.pk)

    for attempt in (first, broken, third):
        attempt.refresh_from_db()
        assert attempt.status == Status.SUCCEEDED, attempt.error
    pending = list(Verification.objects.filter(task=task).order_by("attempt__index"))
    assert [v.status for v in pending] == ["queued"] * 3
    assert [j.args for j in queued_jobs() if j.task == "tasks.verify_patch"] == [
        [v.pk] for v in pending
    ]

    for verification in pending:
        verify_patch(verification.pk)

    ranking = task_ranking(task)
    assert [row.attempt.index for row in ranking.rows] == [1, 3, 2]
    best, second, last = (row.verification for row in ranking.rows)
    assert (best.verdict, best.rank, best.commands) == ("passed", 1, [TESTS])
    assert best.commands_source == "AGENTS.md"
    assert best.reason == f"The check passes: `{TESTS}`."
    assert best.rank_reason == (
        "#1 of 3: all checks pass, with a smaller patch than attempt 3's (2 against 3 changed "
        "lines).")
    assert second.rank_reason == (
        "#2 of 3: all checks pass, with a larger patch than attempt 1's (3 against 2 changed "
        "lines).")
    assert best.results[0]["exit_code"] == 0 and "OK" in best.results[0]["output_tail"]
    assert (last.verdict, last.rank) == ("checks_failed", 3)
    assert last.reason == f"`{TESTS}` failed with exit code 1."
    assert last.rank_reason == "#3 of 3: some checks fail, behind attempt 3 (all checks pass)."
    evidence = ranking.rows[-1].failed
    assert evidence["exit_code"] == 1 and "AssertionError: 6 != 5" in evidence["output_tail"]

    # Hunk pick: the same line from two attempts is refused; calc.py's fix from attempt 1 and
    # NOTES.md from attempt 3 make one patch, verified before Create PR accepts it.
    with pytest.raises(VerificationError, match="overlap: they change the same lines"):
        combined_patch_create(task=task, by=alice,
                              hunk_ids=[f"{first.pk}:0:0", f"{broken.pk}:0:0"])
    notes = next(h.id for h in patch_hunks(third.pk, 3, third.patch) if h.path == "NOTES.md")
    combined = combined_patch_create(task=task, by=alice, hunk_ids=[f"{first.pk}:0:0", notes])
    attempt = combined.attempt
    assert attempt.index == 4 and attempt.status == Status.SUCCEEDED
    assert "+    return a + b" in attempt.patch and "+`add` adds its arguments." in attempt.patch
    assert combined_patch_blocker(attempt).startswith("The combined patch is still being verified")

    verify_patch(combined.pk)

    combined.refresh_from_db()
    assert combined.verdict == "passed", combined.reason
    assert combined.rank is None  # combined patches are verified, not ranked among the attempts
    assert combined_patch_blocker(attempt) == ""
    assert [row.attempt.index for row in task_ranking(task).rows] == [1, 3, 2]
