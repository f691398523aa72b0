"""The bare mirror on the host: token only per command, branches, pristine checkouts, no hooks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from repos.git import mirror
from repos.models import Repository
from tests.support.connected_github import connect, connected_repository, push_commit, serve


@pytest.fixture
def private_repo(gh, tmp_path):
    gh.state.add_user("octocat")
    gh.state.add_user("eve")
    repo = serve(gh, tmp_path, "octocat", "webapp",
                 {"README.md": "# webapp\n", "app.py": "print('v1')\n"})
    return repo


def _all_text_under(path: Path) -> str:
    chunks = []
    for file in path.rglob("*"):
        if file.is_file():
            chunks.append(file.read_bytes().decode("latin-1"))
    return "\n".join(chunks)


@pytest.mark.django_db
class TestMirror:
    @pytest.mark.parametrize("layout", ["github", "ghes"])
    def test_fetch_with_token_never_stores_it(self, gh, private_repo, acme, alice, layout):
        credential = connect(alice, gh, login="octocat", layout=layout)
        repository = connected_repository(acme, private_repo, layout)
        token = credential.reveal()

        path = mirror.mirror_update(repository, token=token)

        assert mirror.mirror_branches(repository) == ["main"]
        assert token not in _all_text_under(path)
        config = (path / "config").read_text()
        base = gh.web_url if layout == "github" else gh.ghes_url
        assert f"url = {base}/octocat/webapp.git" in config
        assert "extraheader" not in config.lower()
        git_requests = [r for r in gh.state.requests if ".git/" in r.path]
        assert git_requests and all(r.headers.get("Authorization", "").startswith("Basic ")
                                    for r in git_requests)

    def test_fetch_without_token_or_with_someone_elses_fails_clearly(
        self, gh, private_repo, acme, alice, bob
    ):
        repository = connected_repository(acme, private_repo)
        with pytest.raises(mirror.GitError, match="could not read Username|Authentication"):
            mirror.mirror_update(repository)
        eve = connect(bob, gh, login="eve")
        with pytest.raises(mirror.GitError, match="not found") as caught:
            mirror.mirror_update(repository, token=eve.reveal())
        assert eve.reveal() not in str(caught.value)

    def test_update_picks_up_new_branches_and_commits(self, gh, private_repo, acme, alice,
                                                      tmp_path):
        token = connect(alice, gh, login="octocat").reveal()
        repository = connected_repository(acme, private_repo)
        mirror.mirror_update(repository, token=token)
        sha = push_commit(private_repo.git_dir, tmp_path, {"app.py": "print('v2')\n"})
        subprocess.run(["git", "-C", str(private_repo.git_dir), "branch", "feature", sha],
                       check=True)

        mirror.mirror_update(repository, token=token)

        assert mirror.mirror_branches(repository) == ["main", "feature"]
        assert mirror.mirror_commit(repository, "main") == sha

    def test_checkout_is_pristine_and_separate(self, gh, private_repo, acme, alice, tmp_path):
        token = connect(alice, gh, login="octocat").reveal()
        repository = connected_repository(acme, private_repo)
        mirror.mirror_update(repository, token=token)

        first = tmp_path / "attempt-1"
        sha = mirror.checkout_create(repository, ref="main", dest=first)
        (first / "app.py").write_text("tampered\n")
        second = tmp_path / "attempt-2"
        assert mirror.checkout_create(repository, ref="main", dest=second) == sha

        assert (second / "app.py").read_text() == "print('v1')\n"
        assert "x-access-token" not in (second / ".git" / "config").read_text()
        with pytest.raises(mirror.GitError):
            mirror.checkout_create(repository, ref="main", dest=second)
        with pytest.raises(mirror.GitError):
            mirror.checkout_create(repository, ref="--upload-pack=touch", dest=tmp_path / "x")

    def test_hooks_and_config_planted_in_a_tree_never_run(self, gh, private_repo, acme, alice,
                                                          tmp_path):
        token = connect(alice, gh, login="octocat").reveal()
        repository = connected_repository(acme, private_repo)
        mirror.mirror_update(repository, token=token)
        tree = tmp_path / "touched"
        mirror.checkout_create(repository, ref="main", dest=tree)
        marker = tmp_path / "hook-ran"
        hooks = tree / ".git" / "planted-hooks"
        hooks.mkdir()
        for name in ("pre-commit", "post-commit", "commit-msg"):
            (hooks / name).write_text(f"#!/bin/sh\ntouch {marker}\n")
            (hooks / name).chmod(0o755)
            (tree / ".git" / "hooks" / name).write_text(f"#!/bin/sh\ntouch {marker}\n")
            (tree / ".git" / "hooks" / name).chmod(0o755)
        subprocess.run(["git", "-C", str(tree), "config", "core.hooksPath", str(hooks)],
                       check=True)
        (tree / "app.py").write_text("print('changed')\n")

        mirror.run_git(["-C", str(tree), "commit", "-qam", "change"], extra_env={
            "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.test",
            "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@example.test"})

        assert not marker.exists()

    def test_unsafe_names_are_refused(self, gh, acme, settings):
        from tests.support import factories

        repository = factories.make_repository(acme, owner="..", name="etc",
                                               provider=Repository.Provider.GITHUB)
        with pytest.raises(mirror.GitError, match="unsafe"):
            mirror.mirror_path(repository)
        # A registered location's mirror is named after the registration, not the typed names.
        registered = factories.make_repository(acme, owner="..", name="etc")
        assert mirror.mirror_path(registered).parent == settings.GIT_MIRROR_ROOT / "registered"


def test_token_goes_in_the_environment_not_the_command_line():
    env = mirror.git_env(token="gho_secret", remote_url="https://github.com/o/r.git")
    assert env["GIT_CONFIG_KEY_0"] == "http.https://github.com/.extraHeader"
    assert env["GIT_CONFIG_VALUE_0"].startswith("Authorization: Basic ")
    assert all("gho_secret" not in option for option in mirror.SAFE_OPTIONS)
    assert "gho_secret" not in mirror._scrub("token gho_secret leaked", "gho_secret")
