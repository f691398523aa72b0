"""An attempt skips the mirror fetch when the mirror was fetched a moment ago and knows the ref
(GIT_MIRROR_FRESH_SECONDS; repos/git/workspace.py): best-of-N siblings share one fetch. What
the window does not cover (an older fetch, a ref the mirror lacks) is still fetched, and access
is checked first either way."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from repos.git.branches import mirror_fetched_at
from repos.git.mirror import mirror_path, mirror_update
from repos.git.workspace import mirror_is_fresh, workspace_checkout
from repos.services import repository_register
from tests.support.calc_repo import fixture_repo  # noqa: F401 - fixture

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]


def commit(repo, name: str, *, branch: str = "main") -> str:
    exists = subprocess.run(["git", "rev-parse", "--verify", "--quiet", branch], cwd=repo,
                            capture_output=True).returncode == 0
    subprocess.run(["git", "checkout", "-q", *([] if exists else ["-b"]), branch], cwd=repo,
                   check=True)
    (repo / name).write_text(f"{name}\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", name], cwd=repo, check=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.fixture
def registered(acme, fixture_repo):  # noqa: F811
    return repository_register(team=acme, location=str(fixture_repo))


def test_a_fresh_mirror_that_knows_the_ref_is_not_fetched_again(
    settings, registered, fixture_repo, alice, tmp_path  # noqa: F811
):
    settings.GIT_MIRROR_FRESH_SECONDS = 60
    mirror_update(registered)
    fetched = mirror_fetched_at(registered)
    newer = commit(fixture_repo, "pushed-since.txt")  # the origin moved after that fetch

    first = workspace_checkout(repository=registered, user=alice, ref="main", dest=tmp_path / "a")

    assert mirror_fetched_at(registered) == fetched  # no fetch
    assert first != newer  # the mirror's main, as fetched a moment ago
    assert mirror_is_fresh(registered, "main")


def test_an_old_fetch_or_an_unknown_ref_fetches(
    settings, registered, fixture_repo, alice, tmp_path  # noqa: F811
):
    settings.GIT_MIRROR_FRESH_SECONDS = 60
    mirror_update(registered)
    feature = commit(fixture_repo, "feature.txt", branch="feature")
    assert not mirror_is_fresh(registered, "feature")  # the mirror has no such branch yet
    got = workspace_checkout(repository=registered, user=alice, ref="feature",
                             dest=tmp_path / "f")
    assert got == feature

    newer = commit(fixture_repo, "later.txt")
    head = mirror_path(registered) / "FETCH_HEAD"
    old = time.time() - 120
    os.utime(head, (old, old))  # fetched two minutes ago: stale for a 60 s window
    assert not mirror_is_fresh(registered, "main")
    got = workspace_checkout(repository=registered, user=alice, ref="main", dest=tmp_path / "m")
    assert got == newer


def test_a_zero_window_always_fetches(settings, registered, fixture_repo, alice, tmp_path):  # noqa: F811
    settings.GIT_MIRROR_FRESH_SECONDS = 0
    mirror_update(registered)
    newer = commit(fixture_repo, "pushed.txt")
    got = workspace_checkout(repository=registered, user=alice, ref="main", dest=tmp_path / "z")
    assert got == newer
