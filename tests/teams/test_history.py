"""The team history page: every member's tasks, filters, search, pagination, and no leaks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tasks.models import Task
from tests.support import factories


@pytest.fixture
def history(acme, acme_repo, globex_repo, alice, bob, carol):
    other_repo = factories.make_repository(acme, owner="acme", name="docs")
    tasks = {
        "alice_ask": factories.make_task(acme_repo, alice, prompt="Explain the build pipeline"),
        "bob_code": factories.make_task(
            acme_repo, bob, prompt="Fix the flaky login test", mode="code"
        ),
        "bob_docs": factories.make_task(other_repo, bob, prompt="Document the API"),
        "globex": factories.make_task(globex_repo, carol, prompt="Globex secret plan"),
    }
    Task.objects.filter(pk=tasks["bob_code"].pk).update(status="failed")
    Task.objects.filter(pk=tasks["alice_ask"].pk).update(
        created_at=timezone.now() - timedelta(days=10)
    )
    return tasks


def _titles(response) -> str:
    return response.content.decode().split('id="history-table"', 1)[1]


def test_anonymous_is_sent_to_sign_in(client):
    assert client.get(reverse("tasks:history")).status_code == 302


def test_member_sees_every_members_tasks_but_no_other_team(bob_client, history):
    table = _titles(bob_client.get(reverse("tasks:history")))
    assert "Explain the build pipeline" in table
    assert "Fix the flaky login test" in table
    assert "Globex secret plan" not in table


def test_other_team_sees_only_theirs(carol_client, history):
    table = _titles(carol_client.get(reverse("tasks:history")))
    assert "Globex secret plan" in table and "Explain the build" not in table


@pytest.mark.parametrize(
    "params,present,absent",
    [
        ({"author": "BOB"}, ["Fix the flaky", "Document the API"], ["Explain the build"]),
        ({"status": "failed"}, ["Fix the flaky"], ["Document the API", "Explain the build"]),
        ({"mode": "code"}, ["Fix the flaky"], ["Document the API"]),
        ({"repository": "acme/docs"}, ["Document the API"], ["Fix the flaky"]),
        ({"repository": "acme/nope"}, [], ["Document the API", "Fix the flaky"]),
        ({"q": "FLAKY login"}, ["Fix the flaky"], ["Document the API"]),
        ({"since": "TODAY"}, ["Fix the flaky"], ["Explain the build"]),
        ({"until": "OLD"}, ["Explain the build"], ["Fix the flaky"]),
        (
            {"status": "bogus", "mode": "x", "since": "not-a-date"},
            ["Fix the flaky", "Explain the build"],
            [],
        ),
    ],
)
def test_filters(alice_client, history, bob, params, present, absent):
    today = timezone.localdate()
    params = {
        k: {
            "BOB": str(bob.pk),
            "TODAY": today.isoformat(),
            "OLD": (today - timedelta(days=5)).isoformat(),
        }.get(v, v)
        for k, v in params.items()
    }
    table = _titles(alice_client.get(reverse("tasks:history"), params))
    for text in present:
        assert text in table
    for text in absent:
        assert text not in table


def test_repository_id_of_another_team_shows_nothing(alice_client, history, globex_repo):
    table = _titles(alice_client.get(reverse("tasks:history"), {"repo": globex_repo.pk}))
    assert "Globex secret plan" not in table and "No tasks" in table


def test_paginates_with_a_constant_number_of_queries(alice_client, acme_repo, alice):
    for i in range(120):
        factories.make_task(acme_repo, alice, prompt=f"Task number {i:03d}")
    first = alice_client.get(reverse("tasks:history"))
    assert "Task number 119" in _titles(first) and "Task number 069" not in _titles(first)
    assert "Page 1 of 3" in first.content.decode()
    with CaptureQueriesContext(connection) as queries:
        third = alice_client.get(reverse("tasks:history"), {"page": 3})
    assert "Task number 000" in _titles(third)
    history_queries = [q["sql"] for q in queries if '"tasks_task"' in q["sql"]]
    assert len(history_queries) <= 6, history_queries  # count + page (+ the sidebar), not N+1
