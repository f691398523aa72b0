"""The GitHub double as the app sees it: `gh` (a fixture, registered by tests/conftest.py) points
both the github.com and the GHES settings at the double; `connect` signs a person in to it,
`serve` puts a real git repository behind one of its repositories, `connected_repository` is the
team's row for it and `push_commit` is someone else pushing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from repos.github.credentials import credential_store
from repos.github.models import GitHubCredential
from repos.models import Repository
from tests.support import factories
from tests.support.github_fixtures import point_django_at
from tests.support.github_state import GitHubRepo

PROVIDER = {"github": Repository.Provider.GITHUB, "ghes": Repository.Provider.GHES}


@pytest.fixture
def gh(github_double, settings, tmp_path):
    """The double, with both the github.com and the GHES settings pointing at it."""
    point_django_at(settings, github_double, "github")
    point_django_at(settings, github_double, "ghes")
    settings.GIT_MIRROR_ROOT = tmp_path / "mirrors"
    return github_double


def connect(user, double, *, login: str, layout: str = "github") -> GitHubCredential:
    """Sign `user` in to GitHub as `login`, as the OAuth pipeline would; return the credential."""
    gh_user = double.state.users.get(login) or double.state.add_user(login)
    token = double.state.issue_token(login)
    return credential_store(user=user, provider=PROVIDER[layout], login=login,
                            external_id=gh_user.id, token=token)


def serve(double, tmp_path: Path, owner: str, name: str, files: dict[str, str] | None = None,
          **repo_options) -> GitHubRepo:
    """A repository on the double, backed by a real bare git repository served over HTTP."""
    source = factories.make_git_repository(tmp_path / "sources" / owner / name,
                                           files or {"README.md": "# demo\n"})
    repo = double.state.add_repo(owner, name, **repo_options)
    double.state.attach_git(repo, source, tmp_path / "served" / owner / f"{name}.git")
    return repo


def connected_repository(team, repo: GitHubRepo, layout: str = "github") -> Repository:
    """The team's Repository row for a repository on the double."""
    return factories.make_repository(
        team, owner=repo.owner, name=repo.name, provider=PROVIDER[layout],
        external_id=repo.id, default_branch=repo.default_branch,
        clone_url=f"{repo.owner}/{repo.name}",
    )


def git(bare: Path, *args: str) -> str:
    """`git -C BARE ARGS`'s output, stripped: what a served repository holds now."""
    return subprocess.run(["git", "-C", str(bare), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def pushes(double) -> int:
    """How many pushes (git-receive-pack requests) the stand-in has served."""
    return sum(1 for r in double.state.requests
               if r.method == "POST" and r.path.endswith("git-receive-pack"))


def push_commit(bare: Path, tmp_path: Path, files: dict[str, str], *, branch: str = "main",
                message: str = "upstream change") -> str:
    """Someone else pushes to the served repository; returns the new commit."""
    work = tmp_path / f"upstream-{message.replace(' ', '-')}"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GIT_AUTHOR_NAME": "Up",
           "GIT_AUTHOR_EMAIL": "up@example.test", "GIT_COMMITTER_NAME": "Up",
           "GIT_COMMITTER_EMAIL": "up@example.test"}
    subprocess.run(["git", "clone", "-q", "-b", branch, str(bare), str(work)], check=True, env=env)
    for rel, text in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(text)
    subprocess.run(["git", "-C", str(work), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(work), "commit", "-qm", message], check=True, env=env)
    subprocess.run(["git", "-C", str(work), "push", "-q", "origin", branch], check=True, env=env)
    return subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], check=True, env=env,
                          capture_output=True, text=True).stdout.strip()
