"""Model constraints hold in PostgreSQL, and the small properties say what they promise."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from codexweb.accounts.models import Membership
from repos.models import Repository
from tasks.models import Task
from tests.support import factories


@pytest.mark.parametrize("count", [0, 5])
def test_task_attempt_count_is_1_to_4(acme_repo, alice, count):
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.create(
            team=acme_repo.team, repository=acme_repo, author=alice, mode="ask", prompt="x",
            base_branch="main", model_tier="fast", attempt_count=count,
        )


def test_attempt_index_is_unique_per_task(acme_repo, alice):
    task = factories.make_task(acme_repo, alice, attempts=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        task.attempts.create(index=1)


def test_membership_is_unique_per_team(acme, bob):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(team=acme, user=bob)


def test_repository_is_unique_per_team_but_not_across_teams(acme, globex, acme_repo):
    with pytest.raises(IntegrityError), transaction.atomic():
        Repository.objects.create(
            team=acme, provider=acme_repo.provider, owner="acme", name="webapp", clone_url="/x"
        )
    factories.make_repository(globex, owner="acme", name="webapp")


def test_task_title_is_the_first_line_shortened(acme_repo, alice):
    task = factories.make_task(acme_repo, alice, prompt="  " + "a" * 100 + "\nsecond line")
    # The same 72 characters as the pull request's title (tasks/titles.py).
    assert task.title == "a" * 71 + "…"
    assert factories.make_task(acme_repo, alice, prompt="Short\nmore").title == "Short"


def test_new_task_and_attempt_start_queued(acme_repo, alice):
    task = factories.make_task(acme_repo, alice, attempts=2)
    assert task.status == "queued" and not task.is_finished
    assert [a.status for a in task.attempts.order_by("index")] == ["queued", "queued"]
