"""The composer's repository picker: recent use first, visibility filter, fast with thousands."""

from __future__ import annotations

import pytest

from repos.models import Environment, Repository
from tests.support import factories

pytestmark = pytest.mark.django_db


def names(client, **query):
    response = client.get("/repositories/picker/", query)
    assert response.status_code == 200
    return [r["full_name"] for r in response.json()["results"]]


@pytest.fixture
def repos(acme):
    made = {}
    for name, visibility in [("api", "private"), ("docs", "public"), ("infra", "internal"),
                             ("web", "private")]:
        made[name] = factories.make_repository(acme, owner="acme", name=name,
                                               visibility=visibility)
    return made


def test_recently_used_come_first_when_nothing_is_typed(alice_client, alice, bob, repos):
    factories.make_task(repos["web"], alice)
    factories.make_task(repos["docs"], alice)
    factories.make_task(repos["api"], bob)  # someone else's use does not count for alice

    assert names(alice_client, q="") == ["acme/docs", "acme/web", "acme/api", "acme/infra"]
    result = alice_client.get("/repositories/picker/").json()["results"]
    assert [r["recent"] for r in result] == [True, True, False, False]
    assert result[0]["branches_url"] == f"/repositories/{repos['docs'].pk}/branches/"
    assert names(alice_client, q="acme") == ["acme/api", "acme/docs", "acme/infra", "acme/web"], \
        "typed text: by name"


def test_filters_by_visibility(alice_client, alice, repos):
    factories.make_task(repos["web"], alice)
    assert names(alice_client, visibility="private") == ["acme/web", "acme/api"]
    assert names(alice_client, visibility="public") == ["acme/docs"]
    assert names(alice_client, q="in", visibility="internal") == ["acme/infra"]
    assert names(alice_client, q="docs", visibility="private") == []


def test_bad_visibility_is_a_clear_400(alice_client, repos):
    response = alice_client.get("/repositories/picker/", {"visibility": "secret"})
    assert response.status_code == 400
    assert response.json()["error"] == "visibility must be public, private or internal."


def test_other_teams_recent_repositories_never_show(carol_client, carol, globex, repos,
                                                    globex_repo):
    factories.make_task(globex_repo, carol)
    assert names(carol_client) == ["globex/secret-plans"]


def test_anonymous_gets_401(client, db):
    assert client.get("/repositories/picker/?visibility=public").status_code == 401


def test_five_thousand_repositories_answer_in_a_bounded_number_of_queries(
    alice_client, alice, acme, django_assert_max_num_queries
):
    """Speed is bench/history.py's to measure (the picker scenarios); here the query count must
    not grow with the number of repositories."""
    created = Repository.objects.bulk_create([
        Repository(team=acme, provider="github", owner=f"org-{n % 50:02d}", name=f"svc-{n:04d}",
                   visibility=["private", "public", "internal"][n % 3],
                   clone_url=f"https://github.com/org/svc-{n}.git", external_id=n + 1)
        for n in range(5000)
    ], batch_size=1000)
    Environment.objects.bulk_create([Environment(repository=r) for r in created],
                                    batch_size=1000)
    for repository in created[:200:10]:
        factories.make_task(repository, alice)

    for query in [{}, {"q": "svc-12"}, {"q": "org-07/svc-4"}, {"visibility": "internal"},
                  {"q": "zzz"}]:
        with django_assert_max_num_queries(12):
            response = alice_client.get("/repositories/picker/", query)
        assert response.status_code == 200
    first = alice_client.get("/repositories/picker/").json()["results"]
    assert len(first) == 50 and first[0]["full_name"] == created[190].full_name
    assert sum(r["recent"] for r in first) == 10, "the ten used last, then by name"
