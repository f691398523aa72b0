"""Resolve with the agent (issue 15, item 4), end to end: attempt 1 fixed calc.py on the old
main; someone then changed the same line on main, so Create PR finds that the patch no longer
applies and offers to resolve. The resolve attempt runs in a real Docker sandbox with the
scripted model: it finds attempt 1's commit on its old base next to the current main, rebases,
resolves the conflict, runs the tests, and its patch, taken against the current main, applies:
Create PR then opens the pull request. The GitHub stand-in serves the repository over smart HTTP.
"""

from __future__ import annotations

import pytest

from tasks.jobs import run_attempt
from tasks.models import AttemptKind, Status
from tasks.pull_requests.models import PullRequestRecord
from tasks.pull_requests.resolve import attempt_resolve
from tasks.pull_requests.services import pull_request_create
from tests.support import factories
from tests.support.calc_repo import (
    AGENTS,
    CALC,
    FIX_DIFF,
    TEST,
    TESTS,
    summary_citing_the_green_run,
)
from tests.support.connected_github import connect, connected_repository, git, push_commit, serve
from tests.support.model_server import call, reply

pytestmark = pytest.mark.docker

UPSTREAM = 'def add(a, b):\n    """Add a and b."""\n    return a - b  # keep it simple\n'
RESOLVED = 'def add(a, b):\n    """Add a and b."""\n    return a + b\n'
WRITE_RESOLVED = (f"cat > calc.py <<'EOF'\n{RESOLVED}EOF\n"
                  "git add calc.py && GIT_EDITOR=true git rebase --continue")


@pytest.fixture
def calc(gh, tmp_path):
    gh.state.add_user("alice-gh", name="Alice Liddell")
    gh.state.add_org("acme", members={"alice-gh": "write"})
    return serve(gh, tmp_path, "acme", "calc",
                 {"calc.py": CALC, "test_calc.py": TEST, "AGENTS.md": AGENTS})


def test_a_conflicting_base_produces_a_resolution_whose_patch_applies(
        gh, worker_settings, model_server, calc, acme, alice, tmp_path):
    connect(alice, gh, login="alice-gh")
    repository = connected_repository(acme, calc)
    task = factories.make_task(repository, alice, mode="code", prompt="Make add add.")
    first = task.attempts.get()
    first.status, first.patch = Status.SUCCEEDED, FIX_DIFF
    first.summary = "Title: Make add add\n\n`add` adds now."
    first.base_commit = git(calc.git_dir, "rev-parse", "main")
    first.save()
    new_main = push_commit(calc.git_dir, tmp_path, {"calc.py": UPSTREAM}, message="docstring")

    refused = pull_request_create(attempt=first, user=alice)
    assert refused.state == PullRequestRecord.State.FAILED and refused.resolvable, refused.error

    model_server.add(
        reply(call("shell", {"command": "git rebase main; git status --short"})),
        reply(call("shell", {"command": WRITE_RESOLVED})),
        reply(call("shell", {"command": TESTS})),
        summary_citing_the_green_run,
    )
    resolving = attempt_resolve(attempt=first, by=alice)
    assert (resolving.kind, resolving.parent_id, resolving.index) == (AttemptKind.RESOLVE,
                                                                      first.pk, 2)

    run_attempt(resolving.pk)

    resolving.refresh_from_db()
    assert resolving.status == Status.SUCCEEDED, resolving.error
    assert resolving.base_commit == new_main  # the patch is taken against the current main
    # The agent was told what conflicted, and found the two commits it needed.
    prompt = model_server.requests[0].user_texts()[-1]
    assert "The changes to these files conflict with the current main:\n- calc.py" in prompt
    assert "git rebase main" in prompt
    rebase_output = model_server.requests[1].tool_outputs()[-1]
    assert "CONFLICT (content): Merge conflict in calc.py" in rebase_output
    assert "-    return a - b  # keep it simple\n+    return a + b\n" in resolving.patch
    assert resolving.patch.count("diff --git") == 1

    opened = pull_request_create(attempt=resolving, user=alice)

    assert opened.state == PullRequestRecord.State.OPEN, opened.error
    (pull,) = calc.pulls
    assert git(calc.git_dir, "rev-parse", f"{opened.branch}~1") == new_main
    assert git(calc.git_dir, "show", f"{opened.branch}:calc.py") + "\n" == RESOLVED
    assert pull.base == "main"


def test_a_resolve_attempt_that_leaves_the_rebase_undone_takes_no_patch(
        gh, worker_settings, model_server, calc, acme, alice, tmp_path):
    """A patch taken while HEAD is still on the old base would take main's new commit back
    out: the attempt fails with a sentence instead."""
    connect(alice, gh, login="alice-gh")
    repository = connected_repository(acme, calc)
    task = factories.make_task(repository, alice, mode="code", prompt="Make add add.")
    first = task.attempts.get()
    first.status, first.patch, first.summary = Status.SUCCEEDED, FIX_DIFF, "Done."
    first.base_commit = git(calc.git_dir, "rev-parse", "main")
    first.save()
    push_commit(calc.git_dir, tmp_path, {"calc.py": UPSTREAM}, message="docstring")
    model_server.add(reply("I did nothing."))
    resolving = attempt_resolve(attempt=first, by=alice)

    run_attempt(resolving.pk)

    resolving.refresh_from_db()
    assert resolving.status == Status.FAILED
    assert "the rebase or merge was not finished" in resolving.error
    assert resolving.patch == ""
