"""Create PR from an attempt, end to end: mirror, git apply, commit, push over smart HTTP, open."""

from __future__ import annotations

import re
import subprocess

import pytest

from repos.github.client import GitHubAuthError
from tasks.models import Event, Status
from tasks.pull_requests.models import PullRequestRecord
from tasks.pull_requests.services import PullRequestError, pull_request_create, pull_request_refresh
from tests.support import factories
from tests.support.connected_github import connect, connected_repository, push_commit, pushes, serve
from tests.support.finished_attempts import PATCH
from tests.support.summaries import worker_summary

SUMMARY = (
    "Title: Make the greeting say v2\n\n"
    "Changed the greeting 【F:app.py†L1】 and the tests pass 【T:c0ffee†L1-L2】.\n"
    "A bogus reference 【T:missing†L1】 stays marked."
)


@pytest.fixture
def webapp(gh, tmp_path):
    state = gh.state
    state.add_user("alice-gh", name="Alice Liddell")
    state.add_user("bob-gh")
    state.add_org("acme", members={"alice-gh": "write", "bob-gh": "read"})
    return serve(gh, tmp_path, "acme", "webapp",
                 {"app.py": "print('v1')\nprint('end')\n", "README.md": "# webapp\n"})


def finished_attempt(repository, author, *, prompt="Make the greeting say v2\n\nPlease."):
    attempt = factories.make_succeeded_attempt(
        repository, author, patch=PATCH, summary=SUMMARY, prompt=prompt
    )
    Event.objects.create(attempt=attempt, seq=1, kind="command",
                         payload={"call_id": "1", "chunk_id": "c0ffee", "command": "pytest -q",
                                  "cwd": "/workspace"})
    Event.objects.create(attempt=attempt, seq=2, kind="output",
                         payload={"chunk_id": "c0ffee", "stream": "stdout",
                                  "text": "..\n2 passed in 0.01s\n", "at": 1.0})
    final_tree = {"app.py": "print('v2 from the agent')\nprint('end')\n"}
    Event.objects.create(attempt=attempt, seq=3, kind="summary",
                         payload=worker_summary(attempt, SUMMARY, final_tree))
    return attempt


def git(bare, *args) -> str:
    return subprocess.run(["git", "-C", str(bare), *args], check=True, capture_output=True,
                          text=True).stdout


@pytest.mark.django_db
class TestCreatePullRequest:
    @pytest.mark.parametrize("layout", ["github", "ghes"])
    def test_branch_commit_and_pull_request(self, gh, webapp, acme, alice, layout):
        alice.first_name, alice.last_name = "Alice", "Liddell"
        alice.save()
        credential = connect(alice, gh, login="alice-gh", layout=layout)
        repository = connected_repository(acme, webapp, layout)
        attempt = finished_attempt(repository, alice)

        record = pull_request_create(attempt=attempt, user=alice)

        assert record.state == PullRequestRecord.State.OPEN, record.error
        assert re.fullmatch(r"codex/make-the-greeting-say-v2-[0-9a-f]{8}", record.branch)
        (pull,) = webapp.pulls
        # The summary's bogus 【T:missing†L1】 is an invalid citation: a draft unless overridden.
        assert (pull.head, pull.base, pull.draft) == (record.branch, "main", True)
        assert pull.title == "Make the greeting say v2"  # the agent's own `Title:` line
        web = gh.web_url if layout == "github" else gh.ghes_url
        assert record.html_url == f"{web}/acme/webapp/pull/{pull.number}"
        assert record.number == pull.number and record.head_sha == pull.head_sha

        bare = webapp.git_dir
        changed = git(bare, "show", f"{record.branch}:app.py")
        assert changed == "print('v2 from the agent')\nprint('end')\n"
        author = git(bare, "log", "-1", "--format=%an <%ae>|%cn <%ce>", record.branch).strip()
        email = credential.noreply_email
        assert author == f"Alice Liddell <{email}>|Alice Liddell <{email}>"
        host = "github.com" if layout == "github" else "127.0.0.1"
        assert email == f"{credential.external_id}+alice-gh@users.noreply.{host}"
        assert git(bare, "rev-parse", f"{record.branch}~1") == git(bare, "rev-parse", "main")
        message = git(bare, "log", "-1", "--format=%B", record.branch)
        assert message.startswith("Make the greeting say v2\n")
        assert "Co-authored-by: codexweb agent <codexweb-agent@users.noreply.github.com>" in message

        body = pull.body
        assert f"[app.py#L1]({web}/acme/webapp/blob/{record.head_sha}/app.py#L1)" in body
        assert "## Test evidence" in body and "`pytest -q`" in body
        assert "2 passed in 0.01s" in body and "..\n2 passed" in body
        assert "⚠ missing L1 (invalid citation: no terminal chunk" in body

    def test_draft_option(self, gh, webapp, acme, alice):
        connect(alice, gh, login="alice-gh")
        attempt = finished_attempt(connected_repository(acme, webapp), alice)

        record = pull_request_create(attempt=attempt, user=alice, draft=True)

        assert record.draft and webapp.pulls[0].draft is True

    def test_second_click_opens_one_pull_request(self, gh, webapp, acme, alice):
        connect(alice, gh, login="alice-gh")
        attempt = finished_attempt(connected_repository(acme, webapp), alice)

        first = pull_request_create(attempt=attempt, user=alice)
        second = pull_request_create(attempt=attempt, user=alice)

        assert second.pk == first.pk and second.html_url == first.html_url
        assert len(webapp.pulls) == 1 and pushes(gh) == 1
        assert PullRequestRecord.objects.count() == 1

    def test_pull_request_opened_by_a_run_that_died_is_adopted(self, gh, webapp, acme, alice):
        """A worker killed after GitHub opened the PR, before the record saved its number: the
        job's retry gets 422 "A pull request already exists" and takes that PR over."""
        from tasks.pull_requests.services import pull_request_open

        connect(alice, gh, login="alice-gh")
        attempt = finished_attempt(connected_repository(acme, webapp), alice)
        record = pull_request_create(attempt=attempt, user=alice)
        (pull,) = webapp.pulls
        pull.title = "stale title"
        PullRequestRecord.objects.filter(pk=record.pk).update(
            state=PullRequestRecord.State.CREATING, number=None, html_url="")

        again = pull_request_open(record_id=record.pk)

        assert again.state == PullRequestRecord.State.OPEN, again.error
        assert (again.number, again.html_url) == (record.number, record.html_url)
        assert len(webapp.pulls) == 1 and webapp.pulls[0].title == "Make the greeting say v2"

    def test_repository_renamed_on_github_since_it_was_connected(self, gh, webapp, acme, alice):
        """GitHub answers 301 to the old name: the access check follows it, the repository
        keeps its new name, and git and the pull request use it (the old git URL is gone)."""
        connect(alice, gh, login="alice-gh")
        repository = connected_repository(acme, webapp)
        attempt = finished_attempt(repository, alice)
        gh.state.rename_repo(webapp, "acme", "storefront")

        record = pull_request_create(attempt=attempt, user=alice)

        assert record.state == PullRequestRecord.State.OPEN, record.error
        repository.refresh_from_db()
        assert repository.full_name == "acme/storefront"
        assert record.html_url == f"{gh.web_url}/acme/storefront/pull/{webapp.pulls[0].number}"
        assert [r.status for r in gh.state.requests if r.path == "/repos/acme/webapp"] == [301]

    def test_git_refusing_the_token_after_the_api_took_it(self, gh, webapp, acme, alice):
        """HTTP 401 from git (the token revoked mid-way, or not reaching the code): a sentence
        that says to sign in again, never git's raw words or the token."""
        credential = connect(alice, gh, login="alice-gh")
        attempt = finished_attempt(connected_repository(acme, webapp), alice)
        gh.state.git_refuses_tokens = True

        record = pull_request_create(attempt=attempt, user=alice)

        assert record.state == PullRequestRecord.State.FAILED
        assert record.error == (
            "GitHub refused your sign-in to git (HTTP 401) while fetching acme/webapp. Sign in "
            "again with GitHub; if it keeps happening, your token may not reach this "
            "repository's code.")
        assert credential.reveal() not in record.error and webapp.pulls == []

    def test_patch_that_no_longer_applies(self, gh, webapp, acme, alice, tmp_path):
        connect(alice, gh, login="alice-gh")
        attempt = finished_attempt(connected_repository(acme, webapp), alice)
        new_main = push_commit(webapp.git_dir, tmp_path, {"app.py": "print('v3 upstream')\n"})

        record = pull_request_create(attempt=attempt, user=alice)

        assert record.state == PullRequestRecord.State.FAILED
        assert record.error.startswith(
            f"The patch no longer applies to main (now at {new_main[:7]})")
        assert "Resolve with the agent (it rebases the change onto the current main)" in \
            record.error
        assert record.resolvable  # the page offers "Resolve with the agent"
        assert "app.py" in record.error
        assert webapp.pulls == [] and pushes(gh) == 0

    def test_push_rejected_by_the_server_then_retried(self, gh, webapp, acme, alice):
        connect(alice, gh, login="alice-gh")
        attempt = finished_attempt(connected_repository(acme, webapp), alice)
        webapp.push_rejection = "Branch creation is restricted."

        record = pull_request_create(attempt=attempt, user=alice)

        assert record.state == PullRequestRecord.State.FAILED
        assert record.error == (
            f"GitHub refused the push of branch {record.branch}: error: GH006: Protected "
            "branch update failed. Branch creation is restricted."
        )
        assert webapp.pulls == []

        webapp.push_rejection = None
        retried = pull_request_create(attempt=attempt, user=alice)
        assert retried.pk == record.pk and retried.state == PullRequestRecord.State.OPEN
        assert len(webapp.pulls) == 1

    def test_member_with_read_access_is_refused(self, gh, webapp, acme, bob):
        connect(bob, gh, login="bob-gh")
        attempt = finished_attempt(connected_repository(acme, webapp), bob)

        with pytest.raises(PullRequestError, match="cannot push to acme/webapp"):
            pull_request_create(attempt=attempt, user=bob)
        assert PullRequestRecord.objects.count() == 0 and pushes(gh) == 0

    def test_only_finished_code_attempts(self, gh, webapp, acme, alice):
        connect(alice, gh, login="alice-gh")
        repository = connected_repository(acme, webapp)
        attempt = finished_attempt(repository, alice)
        attempt.status = Status.RUNNING
        attempt.save()
        with pytest.raises(PullRequestError, match="no finished patch"):
            pull_request_create(attempt=attempt, user=alice)
        ask = factories.make_task(repository, alice, mode="ask").attempts.get()
        with pytest.raises(PullRequestError, match="Only Code tasks"):
            pull_request_create(attempt=ask, user=alice)

    def test_revoked_token_asks_to_sign_in_again(self, gh, webapp, acme, alice):
        credential = connect(alice, gh, login="alice-gh")
        attempt = finished_attempt(connected_repository(acme, webapp), alice)
        gh.state.revoke_tokens("alice-gh")

        with pytest.raises(GitHubAuthError, match="Sign in again with GitHub"):
            pull_request_create(attempt=attempt, user=alice)
        credential.refresh_from_db()
        assert credential.invalid_at is not None

    def test_token_revoked_after_the_click(self, gh, webapp, acme, alice):
        from tasks.pull_requests.services import pull_request_open, pull_request_reserve

        connect(alice, gh, login="alice-gh")
        attempt = finished_attempt(connected_repository(acme, webapp), alice)
        record, reserved = pull_request_reserve(attempt=attempt, user=alice)
        assert reserved
        gh.state.revoke_tokens("alice-gh")

        record = pull_request_open(record_id=record.pk)

        assert record.state == PullRequestRecord.State.FAILED
        assert "Sign in again with GitHub" in record.error

    def test_refresh_reads_the_state(self, gh, webapp, acme, alice):
        connect(alice, gh, login="alice-gh")
        attempt = finished_attempt(connected_repository(acme, webapp), alice)
        record = pull_request_create(attempt=attempt, user=alice)
        webapp.pulls[0].state = "closed"

        assert pull_request_refresh(record).state == PullRequestRecord.State.CLOSED
