"""Attempts of one worker that start on the same commit at once (best-of-N siblings) check it out
once (tasks/worker/shared_checkout.py): the first makes the tree, the others wait and copy the
same one, and the last to have its copy in its container removes it; the tar their containers
copy in is packed once too. A real repository, a real mirror and real threads; the sandbox part:
tests/agent/test_attempt_flow.py."""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import repos.git.workspace as git_workspace
import tasks.worker.shared_checkout as shared
from repos.git.mirror import mirror_update
from repos.git.workspace import PrepareError
from repos.services import repository_register
from tasks.models import Attempt, Status
from tasks.sandbox.base import SandboxError
from tasks.sandbox.workspace_archive import workspace_archive
from tasks.services import attempt_finish, attempt_follow_up
from tasks.worker.host_folder import HostFolder
from tasks.worker.shared_checkout import pristine_checkout, shared_archive, shared_checkouts
from tasks.worker.workspace import prepare_workspace
from tests.support import factories
from tests.support.calc_repo import (
    FIX_DIFF,
    fixture_repo,  # noqa: F401 - fixture
)
from tests.support.processes import wait_until

pytestmark = pytest.mark.django_db

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]


def head(path: Path) -> str:
    return subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """This test's temporary folder for every HostFolder (the shared ones are counted there)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    made: list[HostFolder] = []
    yield made
    for folder in made:
        folder.close()
    assert shared_checkouts() == 0, "a shared checkout outlived all its users"


@pytest.fixture
def registered(settings, tmp_path, acme, fixture_repo):  # noqa: F811
    settings.GIT_MIRROR_ROOT = tmp_path / "mirrors"
    repository = repository_register(team=acme, location=str(fixture_repo))
    mirror_update(repository)
    return repository


@pytest.fixture
def checkouts(monkeypatch):
    """The checkouts really made (each call goes through), slowed down so that siblings started
    together overlap with the first one's."""
    made: list[Path] = []
    real = git_workspace.checkout_create

    def counted(repository, *, ref, dest):  # noqa: ANN001, ANN202
        made.append(dest)
        time.sleep(0.3)
        return real(repository, ref=ref, dest=dest)

    monkeypatch.setattr(git_workspace, "checkout_create", counted)
    return made


@pytest.fixture
def packs(monkeypatch):
    """The shared trees really packed (each call goes through), slowed down so that siblings
    asking together overlap with the first one's packing."""
    packed: list[Path] = []
    real = shared.pack_workspace

    def counted(source, out):  # noqa: ANN001, ANN202
        packed.append(source)
        time.sleep(0.3)
        return real(source, out)

    monkeypatch.setattr(shared, "pack_workspace", counted)
    return packed


def tar_names(archive) -> set[str]:  # noqa: ANN001
    with tarfile.open(fileobj=archive, mode="r") as tar:
        return {member.name.rstrip("/") for member in tar.getmembers()}


def new_folder(folders: list[HostFolder], attempt: int) -> HostFolder:
    folder = HostFolder(prefix=f"codexweb-attempt-{attempt}-")
    folders.append(folder)
    return folder


def start_together(registered, folders, count: int, ref: str = "main"):  # noqa: ANN001, ANN201
    mine = [new_folder(folders, n) for n in range(count)]
    barrier = threading.Barrier(count)

    def sibling(folder: HostFolder) -> tuple[Path, str]:
        barrier.wait(timeout=10)
        return pristine_checkout(registered, ref=ref, folder=folder)

    with ThreadPoolExecutor(count) as pool:
        return mine, list(pool.map(sibling, mine))


def test_siblings_starting_together_share_one_checkout(
    registered, fixture_repo, folders, checkouts, tmp_path  # noqa: F811
):
    _, got = start_together(registered, folders, 3)

    assert len(checkouts) == 1, "each sibling checked out the same commit again"
    assert len({tree for tree, _ in got}) == 1
    tree, commit = got[0]
    assert {c for _, c in got} == {head(fixture_repo)} == {head(tree)}
    assert "return a - b" in (tree / "calc.py").read_text()
    assert len(list(tmp_path.glob("codexweb-checkout-*"))) == 1


def test_the_shared_tree_goes_when_the_last_sibling_has_its_copy(
    registered, folders, checkouts, tmp_path
):
    mine, got = start_together(registered, folders, 3)
    tree = got[0][0]

    mine[0].release()
    mine[1].close()  # an attempt cancelled before its container started
    assert (tree / "calc.py").is_file(), "a sibling still to copy it lost the tree"

    mine[2].release()
    wait_until(lambda: not tree.exists(), timeout=10, what="the shared tree to be removed")
    assert shared_checkouts() == 0

    # An attempt started afterwards makes a tree of its own again.
    later, _ = pristine_checkout(registered, ref="main", folder=new_folder(folders, 9))
    assert later != tree and (later / "calc.py").is_file()
    assert len(checkouts) == 2


def test_an_attempt_on_a_newer_commit_gets_a_tree_of_its_own(
    registered, fixture_repo, folders, checkouts  # noqa: F811
):
    first_tree, first = pristine_checkout(registered, ref="main", folder=new_folder(folders, 1))
    (fixture_repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    subprocess.run([*GIT, "-C", str(fixture_repo), "commit", "-qam", "fix"], check=True)
    mirror_update(registered)

    tree, commit = pristine_checkout(registered, ref="main", folder=new_folder(folders, 2))

    assert commit == head(fixture_repo) != first
    assert tree != first_tree and head(tree) == commit and head(first_tree) == first
    assert "return a + b" in (tree / "calc.py").read_text()
    assert "return a - b" in (first_tree / "calc.py").read_text()


def test_when_the_first_checkout_fails_the_others_make_their_own(
    registered, fixture_repo, folders, monkeypatch  # noqa: F811
):
    real = shared.checkout_ref
    calls: list[Path] = []

    def first_one_fails(repository, *, ref, dest):  # noqa: ANN001, ANN202
        calls.append(dest)
        time.sleep(0.3)
        if len(calls) == 1:
            raise PrepareError("The disk is full.")
        return real(repository, ref=ref, dest=dest)

    monkeypatch.setattr(shared, "checkout_ref", first_one_fails)
    mine = [new_folder(folders, n) for n in range(2)]
    barrier = threading.Barrier(2)

    def sibling(folder: HostFolder) -> tuple[Path, str] | str:
        barrier.wait(timeout=10)
        try:
            return pristine_checkout(registered, ref="main", folder=folder)
        except PrepareError as exc:
            return str(exc)

    with ThreadPoolExecutor(2) as pool:
        got = list(pool.map(sibling, mine))

    assert "The disk is full." in got
    ((tree, commit),) = [g for g in got if not isinstance(g, str)]
    assert commit == head(fixture_repo) == head(tree)
    assert len(calls) == 2 and calls[1].is_relative_to(mine[got.index((tree, commit))].path)


def test_a_follow_up_changes_a_checkout_of_its_own_never_the_shared_one(
    registered, alice, folders, checkouts  # noqa: F811
):
    task = factories.make_task(registered, alice, mode="code", prompt="Fix add.")
    first = task.attempts.get()
    attempt_finish(attempt_id=first.pk, status=Status.SUCCEEDED, patch=FIX_DIFF, summary="Done.")
    follow_up = attempt_follow_up(attempt=first, prompt="Add a docstring.", by=alice)
    sibling = Attempt.objects.select_related("task__repository", "requested_by", "parent")

    first_folder = new_folder(folders, first.pk)
    pristine = prepare_workspace(sibling.get(pk=first.pk), first_folder.path,
                                 host_folder=first_folder)
    follow_folder = new_folder(folders, follow_up.pk)
    followed = prepare_workspace(sibling.get(pk=follow_up.pk), follow_folder.path,
                                 host_folder=follow_folder)

    assert followed.workspace.is_relative_to(follow_folder.path)
    assert "return a + b" in (followed.workspace / "calc.py").read_text()
    assert "return a - b" in (pristine.workspace / "calc.py").read_text(), (
        "the follow-up's patch reached the tree its sibling copies"
    )
    assert followed.setup_tree is not None and followed.base_commit == pristine.base_commit


def test_siblings_sharing_a_tree_share_one_tar_of_it(
    registered, folders, checkouts, packs, tmp_path
):
    mine, got = start_together(registered, folders, 3)
    tree = got[0][0]
    barrier = threading.Barrier(3)

    def ask(_: HostFolder) -> Path | None:
        barrier.wait(timeout=10)
        return shared_archive(tree)

    with ThreadPoolExecutor(3) as pool:
        archives = list(pool.map(ask, mine))

    assert packs == [tree], "each sibling packed the same tree again"
    assert len(set(archives)) == 1 and archives[0] is not None
    archive = archives[0]
    assert archive.is_relative_to(next(tmp_path.glob("codexweb-checkout-*")))
    with workspace_archive(tree) as here, workspace_archive(tree, packed=archive) as shared_tar:
        packed_here = tar_names(here)
        assert "calc.py" in packed_here and tar_names(shared_tar) == packed_here

    for folder in mine:
        folder.release()
    wait_until(lambda: not archive.exists(), timeout=10, what="the tar to go with its tree")


def test_a_tree_of_its_own_or_a_failed_packing_leaves_the_packing_to_the_sandbox(
    registered, folders, packs, monkeypatch
):
    own = new_folder(folders, 1).path / "workspace"
    git_workspace.checkout_create(registered, ref="main", dest=own)
    assert shared_archive(own) is None and packs == []

    tried: list[Path] = []

    def tar_fails(source, out):  # noqa: ANN001, ANN202
        tried.append(source)
        raise SandboxError("cannot pack the workspace: tar: out of space")

    monkeypatch.setattr(shared, "pack_workspace", tar_fails)
    tree, _ = pristine_checkout(registered, ref="main", folder=new_folder(folders, 2))
    assert shared_archive(tree) is None
    assert shared_archive(tree) is None
    assert tried == [tree], "a failed packing was tried again for every sibling"
    with workspace_archive(tree, packed=None) as archive:
        assert "calc.py" in tar_names(archive)
