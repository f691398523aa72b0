"""The workspace of a resolve attempt (tasks/worker/resolve.py), made from a real mirror of a
repository registered by path: the branch's new head checked out (the base the new patch is
taken against), the earlier attempt's commit on its old base on `codexweb/attempt-N`, and the
conflicting files named in the agent's instruction. The sandbox run:
tests/agent/test_resolve_flow.py.
"""

from __future__ import annotations

import subprocess

import pytest

from repos.git.workspace import PrepareError
from repos.services import repository_register
from tasks.models import Attempt, AttemptKind, Status
from tasks.pull_requests.resolve import attempt_resolve
from tasks.services import TaskError
from tasks.worker.workspace import prepare_workspace
from tests.support import factories
from tests.support.calc_repo import CALC, FIX_DIFF

UPSTREAM = 'def add(a, b):\n    """Add a and b."""\n    return a - b  # keep it simple\n'
ENV = {"GIT_AUTHOR_NAME": "Up", "GIT_AUTHOR_EMAIL": "up@example.test", "GIT_COMMITTER_NAME": "Up",
       "GIT_COMMITTER_EMAIL": "up@example.test", "PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}


def git(path, *args) -> str:
    return subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True,
                          text=True, env=ENV).stdout.strip()


def commit(path, files: dict[str, str], message: str) -> str:
    for rel, text in files.items():
        (path / rel).write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", message)
    return git(path, "rev-parse", "HEAD")


@pytest.fixture
def source(tmp_path, settings):
    settings.GIT_MIRROR_ROOT = tmp_path / "mirrors"
    return factories.make_git_repository(tmp_path / "calc", {"calc.py": CALC})


@pytest.fixture
def first(source, acme, alice):
    """Attempt 1, succeeded with FIX_DIFF against the first commit of main."""
    repository = repository_register(team=acme, location=str(source))
    task = factories.make_task(repository, alice, mode="code", prompt="Make add add.")
    attempt = task.attempts.get()
    attempt.status, attempt.patch, attempt.summary = Status.SUCCEEDED, FIX_DIFF, "Done."
    attempt.base_commit = git(source, "rev-parse", "main")
    attempt.save()
    return attempt


def prepared_for(attempt: Attempt, folder):
    attempt = Attempt.objects.select_related("task__repository", "requested_by",
                                             "parent").get(pk=attempt.pk)
    return prepare_workspace(attempt, folder)


@pytest.mark.django_db
def test_the_workspace_holds_the_old_commit_next_to_the_new_head(source, first, alice, tmp_path):
    old = first.base_commit
    new = commit(source, {"calc.py": UPSTREAM}, "docstring")
    resolving = attempt_resolve(attempt=first, by=alice)
    assert (resolving.kind, resolving.parent_id) == (AttemptKind.RESOLVE, first.pk)

    prepared = prepared_for(resolving, tmp_path / "work")

    work = prepared.workspace
    assert prepared.base_commit == new  # the patch will be taken against the current main
    assert git(work, "rev-parse", "--abbrev-ref", "HEAD") == "codexweb/attempt-1"
    assert git(work, "rev-parse", "HEAD~1") == old
    assert git(work, "rev-parse", "main") == new
    assert (work / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert git(work, "status", "--porcelain") == ""
    assert git(work, "config", "user.name") == "codexweb agent"  # the sandbox's rebase commits
    assert (prepared.setup_tree / "calc.py").read_text() == UPSTREAM  # setup runs on main
    resolving.refresh_from_db()
    assert resolving.base_commit == new
    assert "The changes to these files conflict with the current main:\n- calc.py" in \
        resolving.follow_up_prompt
    assert "git rebase main" in resolving.follow_up_prompt


@pytest.mark.django_db
def test_a_work_attempt_records_its_base_commit(source, first, alice, tmp_path):
    task = first.task
    second = Attempt.objects.create(task=task, index=2, requested_by=alice)

    prepared = prepared_for(second, tmp_path / "work")

    second.refresh_from_db()
    assert second.base_commit == prepared.base_commit == git(source, "rev-parse", "main")


@pytest.mark.django_db
def test_a_base_that_a_force_push_removed_cannot_be_resolved(source, first, alice, tmp_path):
    git(source, "checkout", "-q", "--orphan", "rewritten")
    commit(source, {"calc.py": UPSTREAM}, "history rewritten")
    git(source, "branch", "-M", "rewritten", "main")
    resolving = attempt_resolve(attempt=first, by=alice)

    with pytest.raises(PrepareError, match="is on no branch of .* any more"):
        prepared_for(resolving, tmp_path / "work")


@pytest.mark.django_db
def test_only_an_attempt_with_changes_and_a_recorded_base_can_be_resolved(first, alice):
    first.base_commit = ""
    first.save()
    with pytest.raises(TaskError, match="does not record the commit it started from"):
        attempt_resolve(attempt=first, by=alice)
    first.patch = ""
    first.save()
    with pytest.raises(TaskError, match="Attempt 1 has no finished changes to resolve."):
        attempt_resolve(attempt=first, by=alice)
