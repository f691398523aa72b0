"""Registering a repository from a path or URL, through the page an admin uses."""

from __future__ import annotations

from repos.models import Environment, Repository
from tests.support import factories


def test_admin_registers_a_local_repository(alice_client, acme, tmp_path):
    path = factories.make_git_repository(tmp_path / "tools" / "linter", branch="trunk")
    page = alice_client.get("/repositories/new/")
    assert page.status_code == 200 and b"Git URL or server path" in page.content

    response = alice_client.post(
        "/repositories/new/", {"location": str(path), "visibility": "internal"}
    )
    assert response.status_code == 302 and response["Location"] == "/repositories/"
    repository = Repository.objects.get(team=acme)
    assert (repository.full_name, repository.default_branch) == ("tools/linter", "trunk")
    assert repository.visibility == "internal" and repository.clone_url == str(path)
    assert Environment.objects.filter(repository=repository).exists()
    listing = alice_client.get("/repositories/").content.decode()
    assert "tools/linter is ready for tasks." in listing
    assert f'href="/?repository={repository.pk}"' in listing


def test_register_bad_input_keeps_it_and_says_why(alice_client, acme, tmp_path):
    missing = tmp_path / "nowhere" / "repo"
    response = alice_client.post(
        "/repositories/new/",
        {"location": str(missing), "default_branch": "dev", "visibility": "public"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert f"No such path on the server: {missing}" in html
    assert f'value="{missing}"' in html and 'value="dev"' in html
    assert '<option value="public" selected>' in html
    assert not Repository.objects.exists()

    not_git = tmp_path / "plain" / "dir"
    not_git.mkdir(parents=True)
    response = alice_client.post(
        "/repositories/new/", {"location": str(not_git), "visibility": "private"}
    )
    assert response.status_code == 400
    assert f"{not_git} is not a git repository." in response.content.decode()


def test_registering_twice_is_refused(alice_client, acme):
    # A host the test settings allow (GIT_ALLOWED_HOSTS); registering does not contact it.
    data = {"location": "http://127.0.0.1:9/acme/app.git", "visibility": "private"}
    assert alice_client.post("/repositories/new/", data).status_code == 302
    response = alice_client.post("/repositories/new/", data)
    assert response.status_code == 400
    assert b"acme/app is already registered for this team." in response.content
    assert Repository.objects.count() == 1
