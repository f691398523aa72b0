"""The connect page: team admins choose repositories or whole organizations from their catalog."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from codexweb.audit.models import AuditEntry
from repos.github.models import ConnectedOrganization, GitHubRepositoryAccess
from repos.github.sync import repositories_sync
from repos.jobs import sync_repositories
from repos.models import Environment, Repository
from tests.support import factories
from tests.support.connected_github import connect

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(gh, alice):
    """alice is alice-gh on GitHub: member of acme (5 repos) and owner of her own (1 public)."""
    state = gh.state
    state.add_user("alice-gh")
    state.add_org("acme", members={"alice-gh": "admin"})
    state.add_org("other-org", members={"alice-gh": "read"})
    for n in range(5):
        state.add_repo("acme", f"svc-{n}", default_branch="trunk" if n == 0 else "main")
    state.add_repo("acme", "old", archived=True)
    state.add_repo("other-org", "tool")
    state.add_repo("alice-gh", "dotfiles", private=False)
    credential = connect(alice, gh, login="alice-gh")
    repositories_sync(credential=credential)
    return credential


def row(credential, name):
    return GitHubRepositoryAccess.objects.get(credential=credential, name=name)


def test_anonymous_is_sent_to_sign_in(client, db):
    for path in ["/repositories/connect/", "/repositories/1/disconnect/"]:
        assert client.get(path)["Location"].startswith("/accounts/login/")
    for path in ["/repositories/connect/add/", "/repositories/connect/organization/",
                 "/repositories/connect/organization/1/remove/", "/repositories/1/disconnect/"]:
        assert client.post(path)["Location"].startswith("/accounts/login/")


def test_members_get_404_and_see_the_connected_list(bob_client, bob, acme, catalog, gh):
    connect(bob, gh, login="alice-gh")  # even with a catalog of their own
    assert bob_client.get("/repositories/connect/").status_code == 404
    access = row(catalog, "svc-1")
    assert bob_client.post("/repositories/connect/add/",
                           {"access": [access.pk]}).status_code == 404
    assert bob_client.post("/repositories/connect/organization/",
                           {"owner": "acme"}).status_code == 404
    repository = factories.make_repository(acme, owner="acme", name="webapp")
    assert bob_client.get(f"/repositories/{repository.pk}/disconnect/").status_code == 404
    assert bob_client.post(f"/repositories/{repository.pk}/disconnect/").status_code == 404
    assert Repository.objects.filter(pk=repository.pk).exists()
    listing = bob_client.get("/repositories/").content.decode()
    assert "acme/webapp" in listing
    assert "Connect from GitHub" not in listing and "Disconnect" not in listing


def test_admin_sees_the_catalog_and_connects_chosen_repositories(alice_client, acme, catalog):
    page = alice_client.get("/repositories/connect/").content.decode()
    assert "Connect repositories to Acme" in page
    for name in ["acme/svc-0", "acme/svc-4", "other-org/tool", "alice-gh/dotfiles"]:
        assert f'data-repository="{name}"' in page
    assert "8 repositories." in page
    assert 'data-owner="acme"' in page and "Connect all of acme" in page

    chosen = [row(catalog, "svc-0").pk, row(catalog, "dotfiles").pk]
    response = alice_client.post("/repositories/connect/add/",
                                 {"access": chosen, "filters": "q=svc"})
    assert response.status_code == 302 and response["Location"] == "/repositories/connect/?q=svc"
    assert "Connected acme/svc-0, alice-gh/dotfiles to Acme." in alice_client.get(
        response["Location"]).content.decode()
    svc0 = Repository.objects.get(team=acme, name="svc-0")
    assert (svc0.provider, svc0.default_branch) == ("github", "trunk")
    assert Environment.objects.filter(repository=svc0).exists()
    assert Repository.objects.get(team=acme, name="dotfiles").visibility == "public"
    assert AuditEntry.objects.filter(team=acme, action="repository.connected").count() == 2

    page = alice_client.get("/repositories/connect/?q=svc-0").content.decode()
    assert "Connected</span>" in page and f'href="/repositories/{svc0.pk}/disconnect/"' in page
    assert f'value="{row(catalog, "svc-0").pk}"' not in page, "no checkbox for connected ones"
    listing = alice_client.get("/repositories/").content.decode()
    assert "acme/svc-0" in listing and "alice-gh/dotfiles" in listing


def test_filters_order_and_pages(alice_client, alice, acme, catalog, monkeypatch):
    def names(query):
        page = alice_client.get("/repositories/connect/", query).content.decode()
        return [part.split('"')[0] for part in page.split('data-repository="')[1:]]

    assert names({"q": "acme/svc-"}) == [f"acme/svc-{n}" for n in range(5)]
    assert names({"q": "TOOL"}) == ["other-org/tool"]
    assert names({"visibility": "public"}) == ["alice-gh/dotfiles"]
    recent = row(catalog, "svc-3")
    recent.pushed_at = timezone.now()
    recent.save()
    assert names({"order": "recent"})[0] == "acme/svc-3"
    page = alice_client.get("/repositories/connect/", {"visibility": "secret"}).content.decode()
    assert "Unknown filter; showing every repository by name." in page

    monkeypatch.setattr("repos.github.views_connect.PER_PAGE", 3)
    first = alice_client.get("/repositories/connect/?q=svc").content.decode()
    assert "Page 1 of 2" in first and 'href="?provider=github&amp;q=svc&amp;page=2"' in first
    assert names({"q": "svc", "page": 2}) == ["acme/svc-3", "acme/svc-4"]


def test_cannot_connect_someone_elses_catalog_rows(carol_client, carol, globex, catalog):
    response = carol_client.post("/repositories/connect/add/",
                                 {"access": [row(catalog, "svc-1").pk]})
    assert response.status_code == 302
    assert not Repository.objects.filter(team=globex).exists()
    assert "Choose at least one repository" in carol_client.get(
        response["Location"]).content.decode()
    page = carol_client.get("/repositories/connect/").content.decode()
    assert "Sign in with GitHub first" in page and "acme/svc-1" not in page


def test_other_teams_admin_gets_404_on_disconnect(carol_client, globex, acme):
    repository = factories.make_repository(acme, owner="acme", name="webapp")
    assert carol_client.get(f"/repositories/{repository.pk}/disconnect/").status_code == 404
    assert carol_client.post(f"/repositories/{repository.pk}/disconnect/").status_code == 404
    assert Repository.objects.filter(pk=repository.pk).exists()


def test_disconnect_asks_first_and_keeps_the_history(alice_client, alice, acme):
    repository = factories.make_repository(acme, owner="acme", name="webapp")
    factories.make_task(repository, alice)
    factories.make_task(repository, alice)

    page = alice_client.get(f"/repositories/{repository.pk}/disconnect/").content.decode()
    assert "Disconnect acme/webapp?" in page
    assert "Its 2 tasks stay in the team&#x27;s history" in page or (
        "Its 2 tasks stay in the team's history" in page
    )
    assert Repository.objects.get(pk=repository.pk).disconnected_at is None, "GET changes nothing"

    response = alice_client.post(f"/repositories/{repository.pk}/disconnect/")
    assert response.status_code == 302 and response["Location"] == "/repositories/"
    listing = alice_client.get("/repositories/").content.decode()
    assert "Disconnected acme/webapp; its 2 tasks stay in the history." in listing
    assert f"/repositories/{repository.pk}/disconnect/" not in listing
    assert repository.tasks.count() == 2
    assert Repository.objects.get(pk=repository.pk).disconnected_at is not None
    # Gone from the picker and from the composer's choices; the tasks still open.
    picker = alice_client.get("/repositories/picker/", {"q": "webapp"}).json()
    assert picker["results"] == []
    task = repository.tasks.first()
    assert alice_client.get(f"/tasks/{task.pk}/").status_code == 200
    response = alice_client.post(
        "/", {"prompt": "x", "repository": repository.pk, "mode": "ask", "attempts": 1,
              "model_tier": "fast"},
    )
    assert response.status_code == 400
    entry = AuditEntry.objects.get(team=acme, action="repository.disconnected")
    assert (entry.target, entry.changes) == ("acme/webapp", {"tasks_kept": 2})


def test_registering_a_disconnected_repository_again_brings_it_back(alice, acme, tmp_path):
    from repos.github.connect import repository_disconnect
    from repos.services import repository_register

    path = factories.make_git_repository(tmp_path / "tool")
    repository = repository_register(team=acme, location=str(path))
    factories.make_task(repository, alice)
    repository_disconnect(team=acme, actor=alice, repository=repository)

    again = repository_register(team=acme, location=str(path))
    assert again.pk == repository.pk and again.disconnected_at is None
    assert again.tasks.count() == 1


def test_connecting_an_organization_follows_new_repositories(
    alice_client, alice, acme, globex, catalog, gh
):
    response = alice_client.post("/repositories/connect/organization/",
                                 {"owner": "acme", "provider": "github"})
    message = alice_client.get(response["Location"]).content.decode()
    assert "Connected 5 repositories of acme; new ones are connected on each sync." in message
    names = set(Repository.objects.filter(team=acme).values_list("name", flat=True))
    assert names == {f"svc-{n}" for n in range(5)}, "archived ones are left out"
    link = ConnectedOrganization.objects.get(team=acme)
    page = alice_client.get("/repositories/connect/").content.decode()
    assert "Connected, new repositories follow" in page

    gh.state.add_repo("acme", "brand-new")
    sync_repositories(catalog.pk)  # the next sync (after sign-in or "Refresh")
    assert Repository.objects.filter(team=acme, name="brand-new").exists()
    assert Repository.objects.filter(team=acme).count() == 6
    assert not Repository.objects.filter(team=globex).exists()

    alice_client.post(f"/repositories/connect/organization/{link.pk}/remove/")
    assert not ConnectedOrganization.objects.filter(team=acme).exists()
    gh.state.add_repo("acme", "later")
    sync_repositories(catalog.pk)
    assert not Repository.objects.filter(team=acme, name="later").exists()
    assert Repository.objects.filter(team=acme).count() == 6, "connected ones stay"


def test_organization_choice_needs_the_owner_in_the_catalog(alice_client, acme, catalog):
    response = alice_client.post("/repositories/connect/organization/", {"owner": "nobody"})
    assert "None of your repositories on GitHub belong to &#x27;nobody&#x27;." in \
        alice_client.get(response["Location"]).content.decode()
    assert not ConnectedOrganization.objects.exists()


def test_other_teams_admin_cannot_remove_an_organization_choice(
    alice_client, carol, acme, globex, catalog
):
    alice_client.post("/repositories/connect/organization/", {"owner": "acme"})
    link = ConnectedOrganization.objects.get(team=acme)
    carol_client = Client()
    carol_client.force_login(carol)
    assert carol_client.post(
        f"/repositories/connect/organization/{link.pk}/remove/").status_code == 404
    assert ConnectedOrganization.objects.filter(pk=link.pk).exists()


def test_five_thousand_repositories_page_in_a_bounded_number_of_queries(
    alice_client, alice, acme, gh, django_assert_max_num_queries
):
    """Speed is bench/history.py's to measure; here the query count must not grow with the
    number of repositories (no query per row)."""
    gh.state.add_user("alice-gh")
    credential = connect(alice, gh, login="alice-gh")
    now = timezone.now()
    GitHubRepositoryAccess.objects.bulk_create([
        GitHubRepositoryAccess(
            credential=credential, external_id=10_000 + n, owner=f"org-{n % 40:02d}",
            name=f"repo-{n:04d}", private=n % 4 != 0,
            visibility="public" if n % 4 == 0 else "private", can_push=True,
            pushed_at=now - timedelta(minutes=n), checked_at=now,
        ) for n in range(5000)
    ], batch_size=1000)
    for query in [{}, {"q": "repo-49"}, {"order": "recent", "visibility": "public"},
                  {"q": "org-07/", "page": "2"}, {"page": "100"}]:
        with django_assert_max_num_queries(20):
            response = alice_client.get("/repositories/connect/", query)
        assert response.status_code == 200
    page = alice_client.get("/repositories/connect/").content.decode()
    assert "5000 repositories." in page and "Page 1 of 100" in page
