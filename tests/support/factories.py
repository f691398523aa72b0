"""Factories for test data: plain functions with sensible defaults, no fixture files."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

from django.contrib.auth import get_user_model

from codexweb.accounts.models import Membership, Team
from codexweb.accounts.services import team_create
from repos.models import Environment, Repository
from tasks.models import Attempt, Status, Task

_counter = itertools.count(1)
PASSWORD = "correct horse battery staple"


def make_user(username: str | None = None, *, password: str = PASSWORD, **extra):
    username = username or f"user{next(_counter)}"
    return get_user_model().objects.create_user(
        username=username, email=f"{username}@example.test", password=password, **extra
    )


def make_team(name: str | None = None, *, admin=None) -> Team:
    admin = admin or make_user()
    return team_create(name=name or f"Team {next(_counter)}", admin=admin)


def add_member(team: Team, user, role: str = Membership.Role.MEMBER) -> Membership:
    return Membership.objects.create(team=team, user=user, role=role)


def make_repository(
    team: Team, *, owner: str = "acme", name: str | None = None, **extra
) -> Repository:
    name = name or f"repo{next(_counter)}"
    defaults = {
        "provider": Repository.Provider.GIT,
        "default_branch": "main",
        "clone_url": f"/srv/git/{owner}/{name}.git",
    }
    defaults.update(extra)
    repository = Repository.objects.create(team=team, owner=owner, name=name, **defaults)
    Environment.objects.create(repository=repository)
    return repository


def make_alice_and_webapp():
    """Alice, admin of Acme, and Acme's repository acme/webapp: the cast of a test that runs
    in a process of its own (no pytest fixtures there)."""
    alice = make_user("alice")
    team = make_team("Acme", admin=alice)
    return alice, make_repository(team, owner="acme", name="webapp")


def make_task(
    repository: Repository,
    author,
    *,
    prompt: str = "Explain the build",
    attempts: int = 1,
    mode: str = "ask",
    **extra,
) -> Task:
    task = Task.objects.create(
        team=repository.team,
        repository=repository,
        author=author,
        mode=mode,
        prompt=prompt,
        base_branch=repository.default_branch,
        model_tier="fast",
        attempt_count=attempts,
        **extra,
    )
    for index in range(1, attempts + 1):
        Attempt.objects.create(task=task, index=index, requested_by=author)
    return task


def make_finished_attempt(repository: Repository, author, *, status: str = "succeeded") -> Attempt:
    """The only attempt of a new Ask task, claimed and finished through the services, as a
    worker leaves it: ready for a follow-up."""
    from tasks import services

    attempt = make_task(repository, author).attempts.get()
    services.attempt_claim(attempt_id=attempt.pk)
    services.attempt_finish(attempt_id=attempt.pk, status=status)
    return attempt


def make_succeeded_attempt(
    repository: Repository,
    author,
    *,
    patch: str,
    summary: str = "Changed it.",
    prompt: str = "Say v2",
) -> Attempt:
    """The only attempt of a new Code task, succeeded with `patch` and `summary` as the worker
    leaves it (the task's own status is left as it was)."""
    attempt = make_task(repository, author, mode="code", prompt=prompt).attempts.get()
    attempt.status, attempt.patch, attempt.summary = Status.SUCCEEDED, patch, summary
    attempt.save()
    return attempt


def make_git_repository(
    path: Path, files: dict[str, str] | None = None, *, branch: str = "main"
) -> Path:
    """A real git repository on disk with one commit, for registering by path."""
    path.mkdir(parents=True, exist_ok=True)
    env = {
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "t@example.test",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "t@example.test",
        "PATH": "/usr/bin:/bin",
        "HOME": str(path),
    }
    subprocess.run(["git", "init", "-q", "-b", branch, str(path)], check=True, env=env)
    for rel, text in (files or {"README.md": "# demo\n"}).items():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    subprocess.run(["git", "-C", str(path), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(path), "commit", "-q", "-m", "initial"], check=True, env=env)
    return path
