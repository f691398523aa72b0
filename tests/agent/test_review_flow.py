"""Review tasks end to end (issue 15, item 3), as a Celery worker runs them: the real mirror, a
real Docker sandbox and the scripted model; a pull request on the GitHub stand-in reviewed and
the findings posted as a PR review with line comments; a branch review that cannot write.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from repos.models import Environment
from repos.services import repository_register
from tasks import event_kinds as kinds
from tasks.jobs import run_attempt
from tasks.models import Status
from tasks.reviews.models import ReviewRecord
from tasks.reviews.services import ReviewPostError, review_post_now, review_task_create
from tests.support.calc_repo import AGENTS, CALC, TEST, TESTS
from tests.support.connected_github import connect, connected_repository, serve
from tests.support.model_server import CHUNK_ID, call, reply

pytestmark = pytest.mark.docker

MUL = "\n\ndef mul(a, b):\n    return a + b\n"  # calc.py lines 3-5 on the branch: a bug
ENV = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "GIT_AUTHOR_NAME": "Bob",
       "GIT_AUTHOR_EMAIL": "bob@example.test", "GIT_COMMITTER_NAME": "Bob",
       "GIT_COMMITTER_EMAIL": "bob@example.test", "GIT_CONFIG_GLOBAL": "/dev/null"}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, check=True, capture_output=True,
                          text=True).stdout.strip()


def push_feature(bare: Path, work: Path) -> str:
    """Someone pushes branch `feature` (adds a buggy `mul`); returns its commit."""
    git(bare.parent, "clone", "-q", str(bare), str(work))
    git(work, "checkout", "-q", "-b", "feature")
    (work / "calc.py").write_text(CALC + MUL)
    git(work, "commit", "-qam", "Add mul")
    git(work, "push", "-q", "origin", "feature")
    return git(work, "rev-parse", "HEAD")


def findings_answer(request):
    """The final answer: a finding on the added line (in the diff), one on a line the diff
    does not show, and one malformed; citing the file and the test run the model saw."""
    chunk = CHUNK_ID.search(request.tool_outputs()[-1]).group(1)
    items = [
        {"file": "calc.py", "line": 5, "severity": "blocker",
         "explanation": "`mul` adds instead of multiplying 【F:calc.py†L4-L5】."},
        {"file": "test_calc.py", "line": 1, "severity": "minor",
         "explanation": f"No test covers `mul`; the suite fails 【T:{chunk}†L1】 "
                        "【F:test_calc.py†L1】."},
        {"file": "calc.py", "line": "two", "severity": "nit", "explanation": "whatever"},
    ]
    return reply(f"Not ready to merge: `mul` is wrong 【F:calc.py†L5】.\n\n```findings\n"
                 f"{json.dumps(items)}\n```")


@pytest.fixture
def pull(gh, tmp_path, acme, alice):
    """acme/calc on the stand-in with pull request #1 (feature -> main), its head also kept as
    refs/pull/1/head as GitHub does; alice connected as a writer."""
    gh.state.add_user("alice-gh")
    gh.state.add_org("acme", members={"alice-gh": "write"})
    repo = serve(gh, tmp_path, "acme", "calc",
                 {"calc.py": CALC, "test_calc.py": TEST, "AGENTS.md": AGENTS})
    head = push_feature(repo.git_dir, tmp_path / "bob")
    git(repo.git_dir, "update-ref", "refs/pull/1/head", head)
    from tests.support.github_state import PullRequest

    repo.pulls.append(PullRequest(number=1, id=gh.state.next_id(), title="Add mul", body="",
                                  head="feature", base="main", head_sha=head,
                                  base_sha=git(repo.git_dir, "rev-parse", "main"),
                                  author="alice-gh"))
    connect(alice, gh, login="alice-gh")
    return {"repo": repo, "row": connected_repository(acme, repo), "head": head}


def test_a_pull_request_review_lands_as_a_github_review_with_line_comments(
        worker_settings, model_server, gh, pull, alice):
    model_server.add(
        reply(call("shell", {"command": "nl -ba calc.py"})),
        reply(call("shell", {"command": TESTS})),
        findings_answer,
    )
    # Setup holds the secrets: it must run on the base's tree, never on the (fork's) PR tree.
    Environment.objects.filter(repository=pull["row"]).update(
        setup_script='echo "mul in the setup tree: $(grep -c mul calc.py)"')
    task = review_task_create(author=alice, repository=pull["row"], pull_number=1)
    attempt = task.attempts.get()

    run_attempt(attempt.pk)

    attempt.refresh_from_db()
    assert attempt.status == Status.SUCCEEDED, attempt.error
    assert attempt.patch == ""
    setup = "".join(e.payload["text"] for e in attempt.events.filter(
        kind=kinds.OUTPUT, payload__chunk_id=f"setup-{attempt.pk}").order_by("seq"))
    assert "mul in the setup tree: 0" in setup, setup
    assert "def mul" in model_server.requests[1].tool_outputs()[0]  # the agent sees the PR
    record = ReviewRecord.objects.get(attempt=attempt)
    main = git(pull["repo"].git_dir, "rev-parse", "main")
    assert (record.base_sha, record.head_sha, record.pull_number) == (main, pull["head"], 1)
    assert "+def mul(a, b):\n+    return a + b\n" in record.diff
    # The model was given the diff, and no tool that writes.
    first = model_server.requests[0]
    assert "apply_patch" not in first.tool_names()
    assert "<diff_to_review>" in first.user_texts()[0] and "+def mul(a, b):" in \
        first.user_texts()[0]
    review = attempt.events.get(kind=kinds.REVIEW).payload
    assert [(f["file"], f["line"], f["severity"]) for f in review["findings"]] == [
        ("calc.py", 5, "blocker"), ("test_calc.py", 1, "minor")]
    assert all(c["valid"] for f in review["findings"] for c in f["citations"])
    (malformed,) = review["malformed"]
    assert "line" in malformed["problem"] and '"two"' in malformed["text"]
    assert attempt.summary == "Not ready to merge: `mul` is wrong 【F:calc.py†L5】."

    posted = review_post_now(attempt=attempt, user=alice)

    assert posted.post_state == ReviewRecord.PostState.POSTED, posted.post_error
    (gh_review,) = pull["repo"].pulls[0].reviews
    assert gh_review.author == "alice-gh" and gh_review.state == "COMMENTED"
    assert gh_review.commit_id == pull["head"]
    (comment,) = gh_review.comments
    assert (comment.path, comment.line, comment.side) == ("calc.py", 5, "RIGHT")
    assert comment.body.startswith(
        "**🛑 blocker**: `mul` adds instead of multiplying [calc.py#L4-L5]")
    assert f"/acme/calc/blob/{pull['head']}/calc.py#L4-L5" in comment.body
    assert "### Findings on lines outside the diff\n- `test_calc.py` line 1: **minor**" in \
        gh_review.body
    assert "### ⚠ Findings that could not be read" in gh_review.body
    assert posted.html_url.endswith(f"#pullrequestreview-{gh_review.id}")
    assert gh.state.take_violations() == []
    again = review_post_now(attempt=attempt, user=alice)  # a second click posts nothing
    assert again.pk == posted.pk and len(pull["repo"].pulls[0].reviews) == 1


def test_a_review_cannot_write_and_has_nothing_to_push(
        worker_settings, model_server, acme, alice, fixture_repo, tmp_path):
    git(fixture_repo, "checkout", "-q", "-b", "feature")
    (fixture_repo / "calc.py").write_text(CALC + MUL)
    git(fixture_repo, "commit", "-qam", "Add mul")
    git(fixture_repo, "checkout", "-q", "main")
    repository = repository_register(team=acme, location=str(fixture_repo))
    model_server.add(
        reply(call("shell", {"command": "echo hacked > calc.py"})),
        reply(call("shell", {"command": "cat calc.py"})),
        reply(call("apply_patch", {"patch": "*** Begin Patch\n*** Add File: evil.py\n+x\n"
                                            "*** End Patch"})),
        reply("Nothing else to say 【F:calc.py†L1】.\n\n```findings\n[]\n```"),
    )
    task = review_task_create(author=alice, repository=repository, branch="feature")
    attempt = task.attempts.get()

    run_attempt(attempt.pk)

    attempt.refresh_from_db()
    assert attempt.status == Status.SUCCEEDED, attempt.error
    assert attempt.patch == ""
    write, read = [e.payload for e in attempt.events.filter(kind=kinds.COMMAND_END)
                   .order_by("seq")]
    assert write["exit_code"] != 0 and read["exit_code"] == 0  # the workspace is read-only
    output = "".join(e.payload["text"] for e in attempt.events.filter(kind=kinds.OUTPUT)
                     .order_by("seq"))
    assert "Permission denied" in output or "Read-only" in output
    assert "def mul(a, b):" in output and "hacked" not in output  # the branch, unchanged
    (refused,) = attempt.events.filter(kind=kinds.TOOL_ERROR)
    assert refused.payload["tool"] == "apply_patch"
    assert "apply_patch" not in model_server.requests[0].tool_names()
    record = ReviewRecord.objects.get(attempt=attempt)
    assert record.pull_number is None and "+def mul(a, b):" in record.diff
    assert attempt.events.get(kind=kinds.REVIEW).payload == {"findings": [], "malformed": []}
    with pytest.raises(ReviewPostError, match="Only a review of a pull request"):
        review_post_now(attempt=attempt, user=alice)
