"""The `codexweb` CLI as a subprocess against the real app in daphne: login, code (streaming the
live log, ending with summary and diff), list, show, diff | git apply, cancel, retry, steer, pr
(waiting for the server's job), exit codes.

Attempt progress is simulated with the worker's real code path (services + events.publish),
since these tests run no sandbox.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from codexweb.accounts.models import Team
from repos.credentials.models import EnvironmentCredential
from repos.github.credentials import credential_store
from repos.github.models import GitHubRepositoryAccess
from repos.models import Repository
from tasks import events, services
from tasks.models import Attempt, Task
from tasks.pull_requests.models import PullRequestRecord
from tasks.steering.models import SteerMessage
from tests.support import factories
from tests.support.celery_queue import queue_clear, queued_jobs
from tests.support.cli_runner import cli, cli_background, cli_env, cli_login, cli_streaming
from tests.support.services import ROOT

pytestmark = pytest.mark.timeout(180)
PATCH = "diff --git a/app.py b/app.py\n--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"


def test_login_refuses_a_bad_token(live_app, world):
    result = cli(world, "login", "--server", live_app.url, "--token", "cxw_wrong")
    assert result.returncode == 3
    assert "not valid or was revoked" in result.stderr
    assert not (world["home"] / ".config" / "codexweb" / "config.json").exists()


def test_commands_need_login(world):
    result = cli(world, "list")
    assert result.returncode == 3 and "codexweb login" in result.stderr


def test_code_streams_then_shows_summary_and_diff(live_app, world, tmp_path):
    cli_login(live_app, world)
    with cli_streaming(world, "code", "Make x two", "--repo", "acme/webapp") as (process, task):
        attempt = Attempt.objects.get(task=task)
        services.attempt_claim(attempt_id=attempt.pk)
        events.publish(attempt.pk, "phase", {"phase": "agent", "message": "Agent started"})
        events.publish(
            attempt.pk,
            "command",
            {"call_id": "1", "chunk_id": "c1", "command": "pytest -q", "cwd": "/w"},
        )
        events.publish(
            attempt.pk,
            "output",
            {"chunk_id": "c1", "stream": "stdout", "text": "3 passed\n", "at": 0.2},
        )
        events.publish(
            attempt.pk,
            "command_end",
            {
                "call_id": "1",
                "chunk_id": "c1",
                "exit_code": 0,
                "duration": 0.4,
                "truncated": False,
                "timed_out": False,
                "error": "",
            },
        )
        services.attempt_finish(
            attempt_id=attempt.pk,
            status="succeeded",
            patch=PATCH,
            summary="Changed x to 2; tests pass.",
        )
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"Task {task.pk} created")
    order = [
        out.index(s)
        for s in (
            "▸ agent: Agent started",
            "$ pytest -q",
            "3 passed",
            "Changed x to 2; tests pass.",
            "+x = 2",
            f"Task {task.pk} succeeded.",
        )
    ]
    assert order == sorted(order), out

    shown = cli(world, "show", str(task.pk))
    assert shown.returncode == 0 and "attempt 1" in shown.stdout and "has a patch" in shown.stdout
    listed = cli(world, "list", "--json")
    assert [t["id"] for t in json.loads(listed.stdout)] == [task.pk]

    diff = cli(world, "diff", str(task.pk))
    assert diff.returncode == 0 and diff.stdout == PATCH
    repo = factories.make_git_repository(tmp_path / "checkout", {"app.py": "x = 1\n"})
    applied = subprocess.run(
        ["git", "-C", str(repo), "apply"],
        input=diff.stdout,
        text=True,
        capture_output=True,
        check=False,
    )
    assert applied.returncode == 0, applied.stderr
    assert (repo / "app.py").read_text() == "x = 2\n"

    pr = cli(world, "pr", str(task.pk))
    assert pr.returncode == 5 and "connected from GitHub" in pr.stderr


def test_cancel_ends_the_stream_with_its_exit_code(live_app, world):
    cli_login(live_app, world)
    asked = ("ask", "Why is the build slow?", "--repo", "acme/webapp", "--attempts", "2")
    with cli_streaming(world, *asked) as (process, task):
        for attempt in task.attempts.all():
            services.attempt_claim(attempt_id=attempt.pk)
            events.publish(attempt.pk, "message", {"text": f"Looking ({attempt.index})"})
        not_finished = cli(world, "diff", str(task.pk), "--attempt", "1")
        assert not_finished.returncode == 5 and "still running" in not_finished.stderr
        cancelled = cli(world, "cancel", str(task.pk), "--json")
        assert cancelled.returncode == 0
        assert json.loads(cancelled.stdout)["status"] == "cancelled"
        out, err = process.communicate(timeout=60)
    assert process.returncode == 7, (out, err)
    assert "[1] Looking (1)" in out and "[2] Looking (2)" in out
    assert "Cancelled by alice" in out
    again = cli(world, "cancel", str(task.pk))
    assert again.returncode == 5 and "already finished" in again.stderr


def test_json_output_and_not_found(live_app, world):
    cli_login(live_app, world)
    missing = cli(world, "show", "999999", "--json")
    assert missing.returncode == 4
    assert json.loads(missing.stdout)["code"] == "not_found"
    bad_repo = cli(world, "ask", "x", "--repo", "acme/nope")
    assert bad_repo.returncode == 4 and "No repository acme/nope" in bad_repo.stderr
    detached = cli(world, "ask", "Quick one", "--repo", "acme/webapp", "--detach", "--json")
    assert detached.returncode == 0 and json.loads(detached.stdout)["status"] == "queued"


def test_environment_variables_instead_ofcli_login(live_app, world):
    env_world = dict(world)
    result = subprocess.run(
        [sys.executable, "-m", "codexweb.cli", "list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**cli_env(env_world), "CODEXWEB_URL": live_app.url, "CODEXWEB_TOKEN": world["token"]},
    )
    assert result.returncode == 0 and "No tasks." in result.stdout


def test_interrupt_leaves_the_task_running(live_app, world):
    cli_login(live_app, world)
    with cli_streaming(world, "ask", "Long question", "--repo", "acme/webapp") as (process, task):
        time.sleep(1.0)
        process.send_signal(2)  # SIGINT, as Ctrl-C
        out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert f"codexweb cancel {task.pk}" in err
    task.refresh_from_db()
    assert task.status == "queued"


def test_retry_runs_the_last_failed_attempt_again(live_app, world):
    cli_login(live_app, world)
    from django.contrib.auth.models import User

    from repos.models import Repository

    repository = Repository.objects.get(name="webapp")
    task = factories.make_task(repository, User.objects.get(username="alice"))
    nothing = cli(world, "retry", str(task.pk))
    assert nothing.returncode == 5 and "no failed or cancelled attempt" in nothing.stderr
    attempt = task.attempts.get()
    services.attempt_finish(attempt_id=attempt.pk, status="failed", error="The worker stopped.")

    result = cli(world, "retry", str(task.pk))

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Attempt 1 retried as attempt 2 of task {task.pk}.\n"
    assert [a.status for a in task.attempts.order_by("index")] == ["failed", "queued"]


def _github_repository_alice_may_push() -> Repository:
    """acme-gh/webapp on GitHub, with alice's fresh catalog row saying she may push: the server
    checks her access without asking GitHub (repos/access.py), and no GitHub is needed until
    the job runs."""
    alice = User.objects.get(username="alice")
    repository = factories.make_repository(
        Team.objects.get(memberships__user=alice), owner="acme-gh", name="webapp",
        provider=Repository.Provider.GITHUB, external_id=77, clone_url="acme-gh/webapp",
    )
    credential = credential_store(user=alice, provider=Repository.Provider.GITHUB,
                                  login="alice-gh", external_id=5, token="ghu_cli_test")
    GitHubRepositoryAccess.objects.create(
        credential=credential, external_id=77, owner="acme-gh", name="webapp", can_push=True,
        checked_at=timezone.now(),
    )
    return repository


def _queued_open_job(attempt: Attempt, timeout: float = 30) -> PullRequestRecord:
    """The attempt's record once it is being created and its job waits in the queue."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = PullRequestRecord.objects.filter(attempt=attempt, state="creating").first()
        queued = [job.args for job in queued_jobs() if job.task == "repos.open_pull_request"]
        if record is not None and queued:
            assert queued == [[record.pk]]
            return record
        time.sleep(0.1)
    raise AssertionError("the server queued no job to open the pull request")


def _finish_job(process: subprocess.Popen, attempt: Attempt, **outcome: object) -> tuple:
    """Wait for the CLI's request to be queued, store the job's outcome as the worker would
    (tasks.pull_requests.services.pull_request_open; no GitHub here), and collect the CLI's
    output."""
    try:
        record = _queued_open_job(attempt)
        queue_clear()
        PullRequestRecord.objects.filter(pk=record.pk).update(**outcome)
        return process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_pr_waits_for_the_job_failed_then_opened(live_app, world):
    cli_login(live_app, world)
    repository = _github_repository_alice_may_push()
    task = factories.make_task(repository, User.objects.get(username="alice"), mode="code")
    attempt = task.attempts.get()
    services.attempt_finish(attempt_id=attempt.pk, status="succeeded", patch=PATCH)

    failing = cli_background(world, "pr", str(task.pk))
    out, err = _finish_job(failing, attempt, state="failed", error="The patch no longer applies.")
    assert failing.returncode == 6 and "The patch no longer applies." in err, (out, err)

    again = cli_background(world, "pr", str(task.pk))  # a failed record may be asked again
    url = "https://github.test/acme-gh/webapp/pull/12"
    out, err = _finish_job(again, attempt, state="open", number=12, html_url=url, error="")
    assert again.returncode == 0 and out == f"Pull request: {url}\n", (out, err)


def test_pr_and_diff_take_the_follow_up_not_the_first_attempt(live_app, world):
    """Without --attempt, after a follow-up that succeeded, `diff` shows and `pr` opens the
    follow-up's patch (it carries the first attempt's changes too)."""
    cli_login(live_app, world)
    repository = _github_repository_alice_may_push()
    task = factories.make_task(repository, User.objects.get(username="alice"), mode="code")
    first = task.attempts.get()
    services.attempt_finish(attempt_id=first.pk, status="succeeded", patch=PATCH)
    later = PATCH + PATCH.replace("app.py", "lib.py")
    follow_up = Attempt.objects.create(task=task, index=2, parent=first, follow_up_prompt="more",
                                       requested_by=first.requested_by, status="succeeded",
                                       patch=later)

    diff = cli(world, "diff", str(task.pk))
    assert diff.returncode == 0 and diff.stdout == later, diff.stderr

    process = cli_background(world, "pr", str(task.pk))
    url = "https://github.test/acme-gh/webapp/pull/13"
    out, err = _finish_job(process, follow_up, state="open", number=13, html_url=url, error="")
    assert process.returncode == 0 and out == f"Pull request: {url}\n", (out, err)
    assert not PullRequestRecord.objects.filter(attempt=first).exists()


def test_steer_messages_each_running_attempt_and_stop(live_app, world):
    """`codexweb steer TASK "text"` (issue 14 item 1) reaches every unfinished attempt; --stop
    asks for "stop after this step"; a finished task is a conflict with the follow-up hint."""
    cli_login(live_app, world)
    repository = Repository.objects.get(name="webapp")
    task = factories.make_task(repository, User.objects.get(username="alice"), attempts=2)
    first, second = task.attempts.order_by("index")
    services.attempt_claim(attempt_id=first.pk)
    services.attempt_finish(attempt_id=second.pk, status="failed", error="The worker stopped.")

    result = cli(world, "steer", str(task.pk), "Also update the docs.")

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Attempt 1 of task {task.pk}: sent.\n"
    sent = SteerMessage.objects.get()
    assert (sent.attempt_id, sent.text, sent.stop, sent.author.username) == (
        first.pk, "Also update the docs.", False, "alice")

    stop = cli(world, "steer", str(task.pk), "--stop", "--attempt", "1", "--json")
    assert stop.returncode == 0, stop.stderr
    assert json.loads(stop.stdout)[0]["stop"] is True

    empty = cli(world, "steer", str(task.pk))
    assert empty.returncode == 2 and "Write a message" in empty.stderr
    finished = cli(world, "steer", str(task.pk), "more", "--attempt", "2")
    assert finished.returncode == 5 and "follow-up" in finished.stderr
    services.attempt_finish(attempt_id=first.pk, status="succeeded")
    done = cli(world, "steer", str(task.pk), "more")
    assert done.returncode == 5 and "follow-up" in done.stderr
    assert SteerMessage.objects.count() == 2


def test_allow_domain_approves_a_refused_host_for_the_running_attempt(live_app, world):
    """`codexweb allow-domain TASK HOST` (issue 14 item 3) approves the host for each running
    attempt that was refused it; --repository asks for the allowlist too (alice is an admin);
    a host the agent was not refused is a usage error with the server's sentence."""
    from repos.environments.services import environment_for
    from tasks.approvals.models import EgressApproval
    from tests.support.egress_approvals import BLOCKED, refused_attempt

    cli_login(live_app, world)
    repository = Repository.objects.get(name="webapp")
    attempt = refused_attempt(repository, User.objects.get(username="alice"))

    result = cli(world, "allow-domain", str(attempt.task_id), BLOCKED)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Attempt 1 of task {attempt.task_id}: {BLOCKED} allowed;")
    approval = EgressApproval.objects.get()
    assert (approval.attempt_id, approval.host, approval.scope) == (attempt.pk, BLOCKED, "attempt")

    repo_wide = cli(world, "allow-domain", str(attempt.task_id), BLOCKED, "--repository",
                    "--json")
    assert repo_wide.returncode == 0, repo_wide.stderr
    assert json.loads(repo_wide.stdout)[0]["scope"] == "repository"
    assert BLOCKED in environment_for(repository).allowed_domains

    other = cli(world, "allow-domain", str(attempt.task_id), "other.example.org")
    assert other.returncode == 2 and "was not refused other.example.org" in other.stderr
    services.attempt_finish(attempt_id=attempt.pk, status="succeeded")
    done = cli(world, "allow-domain", str(attempt.task_id), BLOCKED)
    assert done.returncode == 5 and "has finished" in done.stderr


def test_credentials_add_list_delete_never_print_the_value(live_app, world):
    cli_login(live_app, world)
    repo = Repository.objects.get(owner="acme", name="webapp")
    value = "cli-cred-value-0a1b2c3d4e"
    added = cli(
        world, "credentials", "add", str(repo.pk), "--name", "index",
        "--domain", "pypi.acme.example", "--kind", "bearer", stdin=value + "\n",
    )
    assert added.returncode == 0, added.stderr
    assert "does not allow pypi.acme.example" in added.stderr  # the policy is off
    assert value not in added.stdout + added.stderr
    credential = EnvironmentCredential.objects.get(environment__repository=repo)
    assert credential.reveal() == f"Bearer {value}"
    listed = cli(world, "credentials", "list", str(repo.pk), "--json")
    assert [row["name"] for row in json.loads(listed.stdout)] == ["index"]
    assert value not in listed.stdout
    deleted = cli(world, "credentials", "delete", str(repo.pk), str(credential.pk))
    assert deleted.returncode == 0, deleted.stderr
    assert not EnvironmentCredential.objects.exists()
    missing = cli(world, "credentials", "list", "999999")
    assert missing.returncode != 0 and "codexweb:" in missing.stderr


def test_push_waits_for_the_job_and_names_resolve_on_a_conflict(live_app, world):
    cli_login(live_app, world)
    repository = _github_repository_alice_may_push()
    task = factories.make_task(repository, User.objects.get(username="alice"), mode="code")
    Task.objects.filter(pk=task.pk).update(base_branch="feature", pull_number=3)
    attempt = task.attempts.get()
    services.attempt_finish(attempt_id=attempt.pk, status="succeeded", patch=PATCH)

    failing = cli_background(world, "push", str(task.pk))
    out, err = _finish_job(failing, attempt, state="failed", resolvable=True,
                           error="The branch feature moved since attempt 1 started.")
    assert failing.returncode == 6, (out, err)
    assert err == ("codexweb: The branch feature moved since attempt 1 started. Run "
                   f"`codexweb resolve {attempt.pk}` to let the agent do it.\n")
    assert PullRequestRecord.objects.get(attempt=attempt).pushed_to_branch

    again = cli_background(world, "push", str(task.pk))
    url = "https://github.test/acme-gh/webapp/pull/3"
    out, err = _finish_job(again, attempt, state="open", number=3, html_url=url, error="",
                           head_sha="abc1234def", resolvable=False)
    assert again.returncode == 0, (out, err)
    assert out == f"Pushed abc1234 onto feature (pull request #3): {url}\n"


def test_resolve_queues_a_resolve_attempt(live_app, world):
    cli_login(live_app, world)
    repository = _github_repository_alice_may_push()
    task = factories.make_task(repository, User.objects.get(username="alice"), mode="code")
    attempt = task.attempts.get()
    services.attempt_finish(attempt_id=attempt.pk, status="succeeded", patch=PATCH)
    no_base = cli(world, "resolve", str(attempt.pk))
    assert no_base.returncode == 5 and "does not record the commit it started from" in \
        no_base.stderr
    Attempt.objects.filter(pk=attempt.pk).update(base_commit="0" * 40)

    result = cli(world, "resolve", str(attempt.pk))

    assert result.returncode == 0, result.stderr
    assert result.stdout == (f"Resolving as attempt 2 of task {task.pk} "
                             f"(follow it with `codexweb show {task.pk}`).\n")
    new = task.attempts.get(index=2)
    assert (new.kind, new.parent_id) == ("resolve", attempt.pk)
    queue_clear()
