"""`codexweb task --mode review` and `codexweb post-review` as subprocesses against the real app
in daphne (helpers from test_cli_live.py)."""

from __future__ import annotations

import json

import pytest

from tasks.models import Status, Task
from tasks.reviews.models import ReviewTarget
from tests.support.cli_runner import cli, cli_login

pytestmark = pytest.mark.timeout(180)


def test_task_mode_review_starts_a_review_of_a_branch(live_app, world):  # noqa: F811
    cli_login(live_app, world)
    result = cli(world, "task", "--mode", "review", "--repo", "acme/webapp", "--branch",
                 "feature", "--detach", "--json")
    assert result.returncode == 0, result.stderr
    task = json.loads(result.stdout)
    assert task["mode"] == "review" and task["prompt"] == "Review this change."
    target = ReviewTarget.objects.get(task_id=task["id"])
    assert (target.kind, target.branch) == ("branch", "feature")

    refused = cli(world, "task", "--mode", "review", "--repo", "acme/webapp", "--pr", "4",
                  "--detach")
    assert refused.returncode != 0
    assert "Pull requests can be reviewed only in repositories from GitHub." in refused.stderr


def test_post_review_says_why_a_branch_review_cannot_be_posted(live_app, world):  # noqa: F811
    cli_login(live_app, world)
    result = cli(world, "task", "--mode", "review", "--repo", "acme/webapp", "--branch",
                 "feature", "--detach")
    task = Task.objects.get(pk=int(result.stdout))
    task.attempts.update(status=Status.SUCCEEDED)

    posted = cli(world, "post-review", str(task.pk))

    assert posted.returncode != 0
    assert "Only a review of a pull request can be posted to GitHub." in posted.stderr
