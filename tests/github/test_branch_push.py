"""Start from an existing pull request or branch, and Push to branch (issue 15, item 2), end to
end against the GitHub stand-in with real git pushes over smart HTTP: the task starts from the
PR's head branch (a fork's PR is refused); the pushed commit lands on that branch as a
fast-forward and the record becomes that PR's, so a follow-up updates it; a branch that moved
meanwhile is refused, nothing is pushed, and the record offers "Resolve with the agent".
"""

from __future__ import annotations

import pytest

from codexweb.audit.models import AuditEntry
from repos.github.credentials import client_for
from repos.github.pull_refs import PullReferenceError, pull_head_resolve, pull_number_parse
from tasks.models import Status, Task
from tasks.pull_requests.errors import PullRequestError
from tasks.pull_requests.jobs import open_pull_request
from tasks.pull_requests.models import PullRequestRecord
from tasks.pull_requests.resolve import attempt_resolve
from tasks.pull_requests.services import pull_request_create, pull_request_update_when_done
from tasks.services import TaskError, task_create
from tests.support.celery_queue import queue_clear, queued_jobs
from tests.support.connected_github import connect, connected_repository, git, push_commit, pushes
from tests.support.finished_attempts import ANSWER, PATCH, follow_up, greeting_webapp
from tests.support.github_state import PullRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def webapp(gh, tmp_path):
    """acme/webapp with a branch `feature` (one commit ahead of main) and PR #7 from it."""
    repo = greeting_webapp(gh, tmp_path)
    git(repo.git_dir, "branch", "feature", "main")
    head = push_commit(repo.git_dir, tmp_path, {"notes.txt": "feature notes\n"},
                       branch="feature", message="feature work")
    repo.pulls.append(PullRequest(
        number=7, id=70, title="Feature", body="", head="feature", base="main", head_sha=head,
        base_sha=git(repo.git_dir, "rev-parse", "main"), author="alice-gh"))
    return repo


@pytest.fixture
def repository(gh, webapp, acme, alice):
    connect(alice, gh, login="alice-gh")
    return connected_repository(acme, webapp)


def started_from_pr(repository, alice, reference="7"):
    return task_create(author=alice, repository=repository, mode="code",
                       prompt="Make the greeting say v2.", base_branch="",
                       pull_request=reference)


def finish(task, *, base_commit, patch=PATCH):
    """The task's attempt as the worker leaves it: succeeded, its patch against `base_commit`."""
    attempt = task.attempts.get()
    attempt.status, attempt.patch, attempt.summary = Status.SUCCEEDED, patch, ANSWER
    attempt.base_commit = base_commit
    attempt.save()
    return attempt


@pytest.mark.parametrize("reference", ["7", "#7", " acme/webapp#7 ", "{web}/acme/webapp/pull/7",
                                       "{web}/ACME/webapp/pull/7/files"])
def test_a_pull_request_reference_names_its_number(gh, repository, reference):
    assert pull_number_parse(reference.format(web=gh.web_url), repository) == 7


def test_a_pull_request_url_of_an_enterprise_server_under_a_path_names_its_number(
        repository, settings):
    repository.provider = "github-enterprise"
    settings.SOCIAL_AUTH_GITHUB_ENTERPRISE_URL = "https://ghe.example.com/github/"
    url = "https://ghe.example.com/github/acme/webapp/pull/7/files"
    assert pull_number_parse(url, repository) == 7
    with pytest.raises(PullReferenceError, match="is not a pull request"):
        pull_number_parse("https://ghe.example.com/other/acme/webapp/pull/7", repository)


@pytest.mark.parametrize(("reference", "says"), [
    ("other/webapp#7", "belongs to other/webapp, not to acme/webapp"),
    ("https://elsewhere.example/acme/webapp/pull/7", "is on elsewhere.example"),
    ("the feature PR", "is not a pull request"),
])
def test_a_reference_to_something_else_is_refused(repository, reference, says):
    with pytest.raises(PullReferenceError, match=says):
        pull_number_parse(reference, repository)


def test_a_task_started_from_a_pull_request_checks_out_its_head_branch(repository, alice):
    task = started_from_pr(repository, alice)

    assert (task.base_branch, task.pull_number) == ("feature", 7)


def test_a_pull_request_from_a_fork_is_refused_and_nothing_is_created(
        gh, webapp, repository, alice):
    mallory = gh.state.add_user("mallory")
    fork = gh.state.add_repo("mallory", "webapp", private=False)
    webapp.pulls.append(PullRequest(
        number=8, id=80, title="From a fork", body="", head="main", base="main",
        head_sha=webapp.pulls[0].head_sha, base_sha=webapp.pulls[0].base_sha,
        author="mallory", head_repo=fork, head_owner=mallory))

    with pytest.raises(TaskError) as refused:
        started_from_pr(repository, alice, "8")

    assert str(refused.value) == (
        "Pull request #8 comes from a fork (mallory/webapp): codexweb can only start from and "
        "push to branches of acme/webapp itself. Push the branch to acme/webapp and start "
        "from it.")
    assert not Task.objects.exists()


def test_a_closed_or_missing_pull_request_is_refused(webapp, repository, alice):
    webapp.pulls[0].state = "closed"
    with pytest.raises(TaskError, match="Pull request #7 is closed; start from an open one"):
        started_from_pr(repository, alice)
    with pytest.raises(TaskError, match="acme/webapp has no pull request #99"):
        started_from_pr(repository, alice, "99")
    assert not Task.objects.exists()


def test_the_head_of_the_pull_request_comes_from_github(repository, alice):
    from repos.github.credentials import credential_for

    client = client_for(credential_for(alice, repository.provider))
    head = pull_head_resolve(client, repository, "#7")
    assert (head.head_ref, head.base_ref, head.number) == ("feature", "main", 7)


def test_push_to_branch_lands_on_the_pull_requests_branch_as_a_fast_forward(
        gh, webapp, repository, alice):
    task = started_from_pr(repository, alice)
    before = git(webapp.git_dir, "rev-parse", "feature")
    attempt = finish(task, base_commit=before)

    record = pull_request_create(attempt=attempt, user=alice, push_to_branch=True)

    assert record.state == PullRequestRecord.State.OPEN, record.error
    assert (record.number, record.branch, record.pushed_to_branch) == (7, "feature", True)
    assert record.html_url == f"{gh.web_url}/acme/webapp/pull/7"
    assert git(webapp.git_dir, "rev-parse", "feature") == record.head_sha
    assert git(webapp.git_dir, "rev-parse", f"{record.head_sha}~1") == before  # fast-forward
    assert git(webapp.git_dir, "show", "feature:app.py") == \
        "print('v2 from the agent')\nprint('end')"
    assert git(webapp.git_dir, "show", "feature:notes.txt") == "feature notes"  # theirs kept
    assert git(webapp.git_dir, "rev-parse", "main") == webapp.pulls[0].base_sha  # main untouched
    assert len(webapp.pulls) == 1 and pushes(gh) == 1
    (entry,) = AuditEntry.objects.filter(action="pr.updated")
    assert entry.changes["branch"] == "feature"

    again = pull_request_create(attempt=attempt, user=alice, push_to_branch=True)
    assert again.pk == record.pk and pushes(gh) == 1  # a second click pushes nothing


def test_a_follow_up_of_the_pushed_attempt_updates_the_same_pull_request(
        gh, webapp, repository, alice):
    task = started_from_pr(repository, alice)
    before = git(webapp.git_dir, "rev-parse", "feature")
    pushed = pull_request_create(attempt=finish(task, base_commit=before), user=alice,
                                 push_to_branch=True)
    child = follow_up(pushed.attempt)
    child.base_commit = before  # a follow-up of a pushed attempt starts where its parent did
    child.save()

    record = pull_request_create(attempt=child, user=alice)

    assert record.state == PullRequestRecord.State.OPEN, record.error
    assert (record.number, record.branch, record.updates_id) == (7, "feature", pushed.pk)
    assert git(webapp.git_dir, "rev-parse", "feature~1") == pushed.head_sha
    assert git(webapp.git_dir, "show", "feature:app.py") == \
        "print('v2 from the agent')\nprint('the end')"
    assert len(webapp.pulls) == 1 and len(webapp.pulls[0].comments) == 1


def test_a_branch_that_moved_is_refused_nothing_is_pushed_and_resolving_is_offered(
        gh, webapp, repository, alice, tmp_path):
    task = started_from_pr(repository, alice)
    before = git(webapp.git_dir, "rev-parse", "feature")
    attempt = finish(task, base_commit=before)
    theirs = push_commit(webapp.git_dir, tmp_path, {"notes.txt": "a reviewer's fix\n"},
                         branch="feature", message="reviewer fix")

    record = pull_request_create(attempt=attempt, user=alice, push_to_branch=True)

    assert record.state == PullRequestRecord.State.FAILED
    assert record.error == (
        f"The branch feature moved since attempt 1 started (it is at {theirs[:7]}, the attempt "
        f"started from {before[:7]}). Nothing was pushed: codexweb only adds commits on top and "
        "never overwrites someone else's. Resolve with the agent to rebase the change onto the "
        "current feature.")
    assert record.resolvable
    assert git(webapp.git_dir, "rev-parse", "feature") == theirs
    assert pushes(gh) == 0


def test_push_needs_push_access_on_github(gh, webapp, repository, alice, bob):
    gh.state.add_user("bob-gh")
    gh.state.orgs["acme"].members["bob-gh"] = "read"
    connect(bob, gh, login="bob-gh")
    task = started_from_pr(repository, alice)
    attempt = finish(task, base_commit=git(webapp.git_dir, "rev-parse", "feature"))

    with pytest.raises(PullRequestError, match="push"):
        pull_request_create(attempt=attempt, user=bob, push_to_branch=True)

    assert not PullRequestRecord.objects.exists() and pushes(gh) == 0


def test_a_resolved_attempt_is_pushed_by_itself_on_top_of_the_moved_branch(
        gh, webapp, repository, alice, tmp_path, django_capture_on_commit_callbacks):
    """What the agent does in the sandbox: tests/agent/test_resolve_flow.py. Here its resolve
    attempt has succeeded with a patch against the branch's new head: the push that found the
    conflict runs again by itself, on top of the other person's commit."""
    task = started_from_pr(repository, alice)
    attempt = finish(task, base_commit=git(webapp.git_dir, "rev-parse", "feature"))
    theirs = push_commit(webapp.git_dir, tmp_path, {"notes.txt": "a reviewer's fix\n"},
                         branch="feature", message="reviewer fix")
    assert pull_request_create(attempt=attempt, user=alice, push_to_branch=True).resolvable
    resolving = attempt_resolve(attempt=attempt, by=alice)
    resolving.status, resolving.patch, resolving.summary = Status.SUCCEEDED, PATCH, ANSWER
    resolving.base_commit = theirs  # the worker took its patch against the new head
    resolving.save()

    queue_clear()
    with django_capture_on_commit_callbacks(execute=True):
        pull_request_update_when_done(attempt_id=resolving.pk)
    (job,) = [j for j in queued_jobs() if j.task == "repos.open_pull_request"]
    open_pull_request(*job.args)
    queue_clear()

    record = PullRequestRecord.objects.get(attempt=resolving)
    assert record.state == PullRequestRecord.State.OPEN, record.error
    assert (record.pushed_to_branch, record.number) == (True, 7)
    assert git(webapp.git_dir, "rev-parse", "feature~1") == theirs  # a fast-forward
    assert git(webapp.git_dir, "show", "feature:notes.txt") == "a reviewer's fix"
    assert git(webapp.git_dir, "show", "feature:app.py") == \
        "print('v2 from the agent')\nprint('end')"


def test_a_github_without_the_pull_list_still_links_the_started_pull_request(
        gh, webapp, repository, alice):
    """An independent GitHub built to the shared contract has no GET pulls (the list): the
    branch's PR is the one the task started from, read by number."""
    gh.state.contract_only = True
    task = started_from_pr(repository, alice)
    attempt = finish(task, base_commit=git(webapp.git_dir, "rev-parse", "feature"))

    record = pull_request_create(attempt=attempt, user=alice, push_to_branch=True)

    assert record.state == PullRequestRecord.State.OPEN, record.error
    assert (record.number, record.html_url) == (7, f"{gh.web_url}/acme/webapp/pull/7")
    assert git(webapp.git_dir, "rev-parse", "feature") == record.head_sha
