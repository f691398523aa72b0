"""An attempt's folder on the host: removed early by `rm` once released, never through a link,
and gone at the end whatever happened (tasks/worker/host_folder.py)."""

from __future__ import annotations

import os
import stat
import tempfile
import time
from pathlib import Path

import pytest

from tasks.worker import host_folder
from tasks.worker.host_folder import HostFolder


def fill(folder: Path, files: int = 200) -> None:
    for i in range(files):
        sub = folder / "workspace" / f"pkg{i % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"m{i}.py").write_text("x = 1\n")


def wait_gone(path: Path, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return not path.exists()


def test_a_released_folder_is_removed_before_the_end(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with HostFolder(prefix="codexweb-attempt-1-") as folder:
        assert folder.path.parent == tmp_path and folder.path.name.startswith("codexweb-attempt-1-")
        fill(folder.path)
        folder.release()
        folder.release()  # a second release starts nothing more
        assert wait_gone(folder.path), "removed while the attempt still runs"
    assert list(tmp_path.iterdir()) == []


def test_without_release_the_folder_goes_at_the_end_even_after_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(RuntimeError), HostFolder(prefix="codexweb-attempt-2-") as folder:
        fill(folder.path, files=20)
        raise RuntimeError("the checkout failed")
    assert not folder.path.exists()


def test_removal_never_follows_a_link_out_of_the_folder(tmp_path, monkeypatch):
    """A checkout may hold links to anywhere (/etc, a home): what they point at stays."""
    outside = tmp_path / "outside"
    (outside / "keep").mkdir(parents=True)
    (outside / "keep" / "precious.txt").write_text("mine\n")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work))
    with HostFolder(prefix="codexweb-attempt-3-") as folder:
        tree = folder.path / "workspace"
        tree.mkdir()
        (tree / "to-dir").symlink_to(outside / "keep")
        (tree / "to-file").symlink_to(outside / "keep" / "precious.txt")
        folder.release()
        assert wait_gone(folder.path)
    assert (outside / "keep" / "precious.txt").read_text() == "mine\n"


def test_without_rm_to_run_the_end_removes_it_in_process(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with HostFolder(prefix="codexweb-attempt-4-") as folder:
        fill(folder.path, files=20)
        monkeypatch.setenv("PATH", str(tmp_path / "no-such-bin"))
        folder.release()  # cannot start `rm`: not an error for the attempt
        assert folder.path.exists()
    assert not folder.path.exists()


def test_a_removal_that_hangs_is_bounded_then_finished_in_process(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    slow_rm = bin_dir / "rm"
    slow_rm.write_text("#!/bin/sh\nexec sleep 60\n")
    slow_rm.chmod(slow_rm.stat().st_mode | stat.S_IXUSR)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work))
    monkeypatch.setattr(host_folder, "REMOVAL_WAIT_SECONDS", 0.3)
    with HostFolder(prefix="codexweb-attempt-5-") as folder:
        fill(folder.path, files=20)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        folder.release()
        removal = folder._removal
        assert removal is not None
        started = time.monotonic()
    assert time.monotonic() - started < 10
    assert removal.returncode is not None, "the hung removal was ended, not left running"
    assert not folder.path.exists()
