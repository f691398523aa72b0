"""Warm images never carry one repository's (or installation's, or commit's) files into another
attempt, and the workspace of every attempt is exactly its commit's checkout (issue 17, item 4;
item 6 for the commit and secret versions in the key).

The attacks are the ones seen in operation: a second installation (a fresh database) on the same
Docker engine, whose environment id and setup script equal the first one's; a warm image whose
tag names our key but whose labels say it is someone else's; setup leaving build output
(`src/semver.egg-info`) in the tree; a file deleted since the commit setup ran on.
"""

from __future__ import annotations

import pytest

from tasks.agent.collect import collect_patch
from tasks.sandbox import images
from tasks.sandbox.spec import LABEL_WARM_INSTALL, LABEL_WARM_REPOSITORY
from tests.security.sandbox_support import checkout, new_install_id, remove_warm_images
from tests.support.sandbox_fixtures import IMAGE

pytestmark = pytest.mark.docker

# Like `pip install -e .`: build output inside the tree, next to a cache under $HOME.
SETUP = (
    "cat setup.py > ~/setup-saw.txt 2>/dev/null || true\n"
    "mkdir -p src/semver.egg-info && echo 'Name: semver' > src/semver.egg-info/PKG-INFO\n"
    "echo stray > stray.txt\n"
    "mkdir -p ~/.cache/deps && echo cached > ~/.cache/deps/wheel\n"
)
REPOSITORY = "1:github:python-semver/python-semver"  # the same row id in both installations


class WarmSandboxes:
    """Makes sandboxes with the warm cache on, for test installations; `cleanup` stops them and
    removes every warm image those installations made."""

    def __init__(self, make_sandbox, docker_engine) -> None:
        self.make_sandbox = make_sandbox
        self.docker_engine = docker_engine
        self.installs: list[str] = []
        self.sandboxes: list = []

    def install(self) -> str:
        self.installs.append(new_install_id())
        return self.installs[-1]

    def start(self, workspace, commit, install, **fields):
        fields.setdefault("repository", REPOSITORY)
        fields.setdefault("warm_cache_hours", 1.0)
        sandbox = self.make_sandbox(
            workspace=workspace, setup_script=SETUP, install_id=install, commit=commit, **fields
        )
        self.sandboxes.append(sandbox)
        return sandbox

    def cleanup(self) -> None:
        for sandbox in self.sandboxes:
            sandbox.stop()
        remove_warm_images(self.docker_engine, *self.installs)


@pytest.fixture
def warm(make_sandbox, docker_engine):
    sandboxes = WarmSandboxes(make_sandbox, docker_engine)
    yield sandboxes
    sandboxes.cleanup()


def test_two_installations_with_the_same_environment_get_different_warm_images(
    warm, docker_engine, tmp_path
):
    commit = checkout(tmp_path / "c", {"README.md": "semver\n"})
    first_install, second_install = warm.install(), warm.install()
    first = warm.start(tmp_path / "c", commit, first_install)
    again = warm.start(tmp_path / "c", commit, first_install)
    other = warm.start(tmp_path / "c", commit, second_install)
    assert not first.warm_hit and again.warm_hit  # the cache works within one installation
    assert not other.warm_hit and other.setup_result is not None  # ... and only there
    assert other.warm_image != first.warm_image
    labels = docker_engine.images.get(other.warm_image).labels
    assert labels[LABEL_WARM_INSTALL] == second_install
    assert labels[LABEL_WARM_REPOSITORY] == REPOSITORY


def test_a_warm_image_whose_labels_do_not_match_is_not_reused(warm, docker_engine, tmp_path):
    commit = checkout(tmp_path / "c", {"README.md": "semver\n"})
    theirs = warm.start(tmp_path / "c", commit, warm.install())
    victim = warm.start(tmp_path / "c", commit, warm.install(), start=False)
    key = images.warm_key(
        victim.spec,
        base_image_id=docker_engine.images.get(IMAGE).id,
        workspace=images.WORKSPACE_ON_VOLUME,
    )
    # Someone on the engine points the tag of our key at their image.
    repository, tag = images.warm_tag(key).split(":")
    docker_engine.images.get(theirs.warm_image).tag(repository, tag)
    victim.start()
    assert not victim.warm_hit
    assert victim.setup_result is not None and victim.setup_result.exit_code == 0
    # Our setup ran and the tag now names our own image.
    labels = docker_engine.images.get(images.warm_tag(key)).labels
    assert labels[LABEL_WARM_INSTALL] == victim.spec.install_id


def test_a_different_commit_gets_a_different_warm_image(warm, tmp_path):
    install = warm.install()
    first_commit = checkout(tmp_path / "one", {"README.md": "one\n"})
    second_commit = checkout(tmp_path / "two", {"README.md": "two\n"})
    first = warm.start(tmp_path / "one", first_commit, install)
    second = warm.start(tmp_path / "two", second_commit, install)
    assert not first.warm_hit and not second.warm_hit
    assert first.warm_image != second.warm_image
    # New secret versions (a secret was set again) miss too: setup runs with the new value.
    changed = warm.start(tmp_path / "two", second_commit, install, secret_versions={"T": "v2"})
    assert not changed.warm_hit


def test_setup_output_in_the_tree_is_not_in_a_warm_attempts_workspace_or_patch(warm, tmp_path):
    commit = checkout(tmp_path / "c", {"README.md": "semver\n", "src/semver.py": "V = 1\n"})
    install = warm.install()
    cold = warm.start(tmp_path / "c", commit, install)
    assert cold.read_file("src/semver.egg-info/PKG-INFO") == "Name: semver\n"  # setup made it
    warm = warm.start(tmp_path / "c", commit, install)
    assert warm.warm_hit
    listing = warm.exec("git status --short --ignored; ls -A; ls -A src; cat ~/.cache/deps/wheel")
    assert listing.output == ".git\nREADME.md\nsrc\nsemver.py\ncached\n", listing.output
    warm.write_file("src/semver.py", "V = 2\n")
    warm.exec("git add -A && git commit -qm agent")
    patch = collect_patch(warm, commit)
    assert "src/semver.py" in patch
    assert "egg-info" not in patch and "stray" not in patch


def test_a_file_deleted_since_setup_ran_stays_deleted_on_a_warm_start(warm, tmp_path):
    install = warm.install()
    checkout(tmp_path / "before", {"README.md": "x\n", "old.py": "gone soon\n"})
    after = checkout(tmp_path / "after", {"README.md": "x\n"})
    # The warm image is made from a tree that still has old.py. The key normally differs by
    # commit; here the same key is forced, to test the workspace replacement on its own.
    warm.start(tmp_path / "before", after, install)
    warm = warm.start(tmp_path / "after", after, install)
    assert warm.warm_hit
    assert warm.exec("ls -A; git status --short").output == ".git\nREADME.md\n"
    assert collect_patch(warm, after) == ""


def test_setup_runs_on_the_commits_own_tree_not_a_follow_ups(warm, tmp_path):
    """A follow-up's workspace holds its parent's changes, written by the agent; setup holds the
    secrets, so it runs on the base commit's pristine tree, and the warm image is that commit's."""
    install = warm.install()
    base = checkout(tmp_path / "base", {"setup.py": "trusted\n"})
    follow_up = tmp_path / "follow-up"
    checkout(follow_up, {"setup.py": "written by the agent\n"})
    sandbox = warm.start(follow_up, base, install, setup_workspace=tmp_path / "base")
    assert sandbox.setup_result.exit_code == 0
    assert sandbox.exec("cat setup.py").output == "written by the agent\n"
    assert sandbox.exec("ls -A; ls ~/.cache/deps").output == ".git\nsetup.py\nwheel\n"
    assert sandbox.exec("cat ~/setup-saw.txt").output == "trusted\n"
    # Setup saw the trusted tree: its output in the tree went with it, and the cache is the
    # base commit's, so a plain attempt on that commit starts warm.
    again = warm.start(tmp_path / "base", base, install)
    assert again.warm_hit and again.exec("cat setup.py").output == "trusted\n"
