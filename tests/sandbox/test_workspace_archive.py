"""The tar a checkout crosses into the sandbox in (tasks/sandbox/workspace_archive.py): GNU tar
packs a plain tree, Python's tarfile anything else; both give the same members, owned by the
sandbox user, links kept as links. (It unpacking in a real container:
tests/sandbox/test_workspace_volume.py.)"""

from __future__ import annotations

import os
import tarfile
import tempfile
from pathlib import Path

import pytest

from tasks.sandbox import workspace_archive as archive_module
from tasks.sandbox.base import SandboxError
from tasks.sandbox.spec import SANDBOX_UID, SETUP_USER
from tasks.sandbox.workspace_archive import workspace_archive

ODD_NAMES = ["-C", "--to-command=touch PWNED", "with space.txt"]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A checkout-like tree: nested folders, an executable, a link out of the tree, an empty
    folder, names tar could take for options, a name that is not UTF-8."""
    root = tmp_path / "checkout"
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "pkg" / "sub" / "mod.py").write_text("x = 1\n")
    (root / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "run.sh").chmod(0o755)
    (root / "empty").mkdir()
    (root / "passwd").symlink_to("/etc/passwd")
    (root / "etc").symlink_to("/etc", target_is_directory=True)  # e.g. a follow-up's patch made it
    for name in ODD_NAMES:
        (root / name).write_text(name)
    (root / os.fsdecode(b"caf\xe9.txt")).write_bytes(b"latin-1 name\n")
    return root


def members(archive) -> dict[str, tarfile.TarInfo]:  # noqa: ANN001
    with tarfile.open(fileobj=archive, mode="r") as tar:
        return {m.name.rstrip("/"): m for m in tar.getmembers()}


def described(found: dict[str, tarfile.TarInfo]) -> dict[str, tuple]:
    return {name: (m.type, m.mode & 0o777, m.size, m.linkname, m.uid, m.gid, m.uname, m.gname)
            for name, m in found.items()}


def test_a_plain_tree_is_packed_by_tar_with_every_entry_owned_by_the_sandbox_user(tree):
    with workspace_archive(tree) as archive:
        assert not isinstance(archive, tempfile.SpooledTemporaryFile)  # tar, not the fallback
        found = members(archive)

    assert set(found) == {
        "pkg", "pkg/sub", "pkg/sub/mod.py", "run.sh", "empty", "passwd", "etc", *ODD_NAMES,
        os.fsdecode(b"caf\xe9.txt"),
    }
    assert found["passwd"].issym() and found["passwd"].linkname == "/etc/passwd"
    assert found["etc"].issym() and found["etc"].linkname == "/etc"  # never followed
    assert found["run.sh"].mode & 0o111 and found["pkg/sub"].isdir()
    assert {(m.uid, m.gid, m.uname, m.gname) for m in found.values()} == {
        (SANDBOX_UID, SANDBOX_UID, SETUP_USER, SETUP_USER)}
    assert not (tree / "PWNED").exists() and not Path("PWNED").exists()


def test_tar_and_the_fallback_pack_the_same_members(tree, monkeypatch):
    with workspace_archive(tree) as archive:
        by_tar = described(members(archive))
    monkeypatch.setattr(archive_module.shutil, "which", lambda _name: None)  # no tar here
    with workspace_archive(tree) as archive:
        assert isinstance(archive, tempfile.SpooledTemporaryFile)
        by_tarfile = described(members(archive))
    assert by_tar == by_tarfile


def test_a_fifo_in_the_tree_is_left_out_by_the_fallback(tree):
    os.mkfifo(tree / "pkg" / "pipe")
    with workspace_archive(tree) as archive:
        assert isinstance(archive, tempfile.SpooledTemporaryFile)
        found = members(archive)
    assert "pkg/pipe" not in found and "pkg/sub/mod.py" in found


def test_a_missing_folder_or_a_failing_tar_is_a_clear_error(tmp_path, tree, monkeypatch):
    with pytest.raises(SandboxError, match="is not a folder"):
        workspace_archive(tmp_path / "nowhere")
    fails = tmp_path / "tar"
    fails.write_text("#!/bin/sh\necho 'tar: out of space' >&2\nexit 2\n")
    fails.chmod(0o755)
    monkeypatch.setattr(archive_module.shutil, "which", lambda _name: str(fails))
    with pytest.raises(SandboxError, match="cannot pack the workspace: tar: out of space"):
        workspace_archive(tree)



def test_a_tar_packed_before_is_copied_in_as_it_is_and_a_missing_one_is_packed_again(
    tree, tmp_path
):
    """Siblings sharing one checkout share its tar (tasks/worker/shared_checkout.py)."""
    packed = tmp_path / "workspace.tar"
    with packed.open("xb") as out:
        archive_module.pack_workspace(tree, out)
    (tree / "written-after.txt").write_text("not in the tar made before\n")

    with workspace_archive(tree, packed=packed) as archive:
        found = members(archive)
    assert "run.sh" in found and "written-after.txt" not in found

    packed.unlink()
    with workspace_archive(tree, packed=packed) as archive:
        assert "written-after.txt" in members(archive)
