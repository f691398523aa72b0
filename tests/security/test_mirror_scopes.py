"""Attacks on the host's mirrors: one team's registration must never fetch into (or prune)
another's mirror, and a checkout must never carry commits a force-push left behind.
Real git throughout; the attacker's server is the GitHub stand-in serving a public repository
over smart HTTP on 127.0.0.1 (allowed by name in the test settings)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from repos.git import mirror
from repos.git.mirror_gc import mirrors_collect
from repos.services import repository_register
from tests.support import factories
from tests.support.connected_github import serve


def git(path: Path, *args: str) -> str:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(path), "GIT_AUTHOR_NAME": "T",
           "GIT_AUTHOR_EMAIL": "t@example.test", "GIT_COMMITTER_NAME": "T",
           "GIT_COMMITTER_EMAIL": "t@example.test"}
    return subprocess.run(["git", "-C", str(path), *args], check=True, env=env,
                          capture_output=True, text=True).stdout.strip()


def has_object(path: Path, sha: str) -> bool:
    return subprocess.run(["git", "-C", str(path), "cat-file", "-e", f"{sha}^{{commit}}"],
                          capture_output=True, check=False).returncode == 0


@pytest.fixture
def mirrors(settings, tmp_path):
    settings.GIT_MIRROR_ROOT = tmp_path / "mirrors"
    return settings.GIT_MIRROR_ROOT


@pytest.fixture
def force_pushed(acme, alice, tmp_path, mirrors):
    """Acme's repository whose main had a commit (the orphan) that a force-push took away after
    the mirror had fetched it. Returns (repository, orphan sha, main sha)."""
    source = factories.make_git_repository(tmp_path / "src" / "acme" / "webapp")
    main = git(source, "rev-parse", "HEAD")
    (source / "leak.txt").write_text("a secret committed by mistake\n")
    git(source, "add", "-A")
    git(source, "commit", "-qm", "oops")
    orphan = git(source, "rev-parse", "HEAD")
    repository = repository_register(team=acme, location=str(source), actor=alice)
    mirror.mirror_update(repository)
    git(source, "reset", "-q", "--hard", main)  # the force-push
    path = mirror.mirror_update(repository)
    assert has_object(path, orphan), "the mirror still holds the orphan until it is collected"
    return repository, orphan, main


def test_same_owner_and_name_on_another_host_gets_its_own_mirror(
    acme, alice, globex, carol, github_double, tmp_path, mirrors
):
    victim_source = factories.make_git_repository(tmp_path / "victim" / "acme" / "webapp",
                                                  {"app.py": "print('victim')\n"})
    git(victim_source, "branch", "release-2")
    victim = repository_register(team=acme, location=str(victim_source), actor=alice)
    victim_mirror = mirror.mirror_update(victim)
    victim_main = mirror.mirror_commit(victim, "main")

    github_double.state.add_user("acme")
    served = serve(github_double, tmp_path / "attacker", "acme", "webapp",
                   {"app.py": "print('attacker')\n"}, private=False)
    attacker = repository_register(
        team=globex, actor=carol, location=f"{github_double.web_url}/acme/webapp.git")
    assert attacker.full_name == victim.full_name
    attacker_mirror = mirror.mirror_update(attacker)

    assert attacker_mirror != victim_mirror
    assert mirror.mirror_branches(victim) == ["main", "release-2"], "the victim's refs survive"
    assert mirror.mirror_commit(victim, "main") == victim_main
    assert mirror.mirror_branches(attacker) == ["main"]
    assert mirror.mirror_commit(attacker, "main") == git(served.git_dir, "rev-parse", "main")
    assert not has_object(attacker_mirror, victim_main)


def test_teams_connecting_one_github_repository_share_its_mirror(acme, globex, mirrors):
    """GitHub repositories are authorized per person before any checkout, so one mirror per
    (host, owner, name) serves every team; GitHub's names ignore case."""
    first = factories.make_repository(acme, owner="Octo", name="App", provider="github")
    second = factories.make_repository(globex, owner="octo", name="app", provider="github")
    plain = factories.make_repository(globex, owner="octo", name="app")

    assert mirror.mirror_path(first) == mirror.mirror_path(second)
    assert mirror.mirror_path(first).relative_to(mirrors).parts[:2] == ("hosts", "github.com")
    assert mirror.mirror_path(plain) != mirror.mirror_path(second)


def test_a_checkout_after_a_force_push_holds_no_unreachable_commit(force_pushed, tmp_path):
    repository, orphan, main = force_pushed
    work = tmp_path / "attempt-1"

    assert mirror.checkout_create(repository, ref="main", dest=work) == main

    assert not has_object(work, orphan)
    assert not (work / "leak.txt").exists()
    assert git(work, "for-each-ref", "--format=%(refname)") == "refs/heads/main"
    assert git(work, "remote") == "", "no remote: the checkout knows nothing of the mirror"


def test_an_orphan_commit_cannot_be_checked_out_by_its_sha(force_pushed, tmp_path):
    """git's upload-pack (protocol v2) serves any object by id, so the mirror refuses ids no
    branch or tag reaches before fetching."""
    repository, orphan, main = force_pushed

    with pytest.raises(mirror.GitError, match="is on no branch or tag"):
        mirror.checkout_create(repository, ref=orphan, dest=tmp_path / "by-sha")

    assert not (tmp_path / "by-sha").exists()
    assert mirror.checkout_create(repository, ref=main[:12], dest=tmp_path / "ok") == main


def test_scheduled_gc_drops_the_orphan_from_the_mirror(force_pushed, mirrors):
    repository, orphan, main = force_pushed
    path = mirror.mirror_path(repository)

    assert mirrors_collect(root=mirrors, limit=5) == [path]

    assert not has_object(path, orphan)
    assert mirror.mirror_commit(repository, "main") == main
    assert mirrors_collect(root=mirrors, limit=5) == [], "collected at most twice a day"


def test_gc_skips_a_busy_mirror_and_is_bounded(force_pushed, acme, alice, tmp_path, mirrors):
    repository, orphan, _ = force_pushed
    others = []
    for name in ("one", "two"):
        source = factories.make_git_repository(tmp_path / "more" / "acme" / name)
        others.append(mirror.mirror_update(
            repository_register(team=acme, location=str(source), actor=alice)))
    busy = mirror.mirror_path(repository)

    with mirror.mirror_lock(busy, shared=True):  # a checkout is reading it
        collected = mirrors_collect(root=mirrors, limit=1)
    assert len(collected) == 1 and collected[0] in others
    assert has_object(busy, orphan)

    next_round = mirrors_collect(root=mirrors, limit=5)
    assert busy in next_round and collected[0] not in next_round
    assert not has_object(busy, orphan)


def test_the_gc_job_is_scheduled(settings):
    from codexweb.celery import app
    from repos.jobs import mirrors_gc

    entry = settings.CELERY_BEAT_SCHEDULE["mirrors-gc"]
    assert entry["task"] == mirrors_gc.name == "repos.mirrors_gc"
    assert entry["schedule"] == settings.MIRROR_GC_INTERVAL_SECONDS
    assert "repos.mirrors_gc" in app.tasks


def test_the_gc_job_removes_mirrors_no_repository_uses(acme, alice, tmp_path, mirrors):
    """A deleted repository's bytes do not stay on the host; a live one's mirror does, and so
    does an unused one touched lately (a registration may be on its way)."""
    from repos.jobs import mirrors_gc

    paths = {}
    for name in ("kept", "deleted", "fresh"):
        source = factories.make_git_repository(tmp_path / "gc" / "acme" / name)
        repository = repository_register(team=acme, location=str(source), actor=alice)
        paths[name] = mirror.mirror_update(repository)
        if name != "kept":
            repository.delete()
    day_ago = time.time() - 2 * 24 * 3600
    for name in ("kept", "deleted"):
        for file in ("HEAD", "FETCH_HEAD"):
            os.utime(paths[name] / file, (day_ago, day_ago))

    mirrors_gc()

    assert (paths["kept"] / "HEAD").exists() and (paths["fresh"] / "HEAD").exists()
    assert not paths["deleted"].exists()
