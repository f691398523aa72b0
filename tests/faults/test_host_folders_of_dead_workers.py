"""A worker killed while it holds a checkout on the host (before the container copied it in, so
before `rm` took it over) leaves the folder behind; housekeeping removes it once that worker is
gone, and nothing of a worker that still runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.worker.host_folder import HostFolder, reap_host_folders

ROOT = Path(__file__).resolve().parents[2]

# A worker's part: make the attempt's folder, write a checkout into it, wait to be killed.
HOLD_A_CHECKOUT = """
import sys, time
from tasks.worker.host_folder import HostFolder
folder = HostFolder(prefix=sys.argv[1])
(folder.path / "workspace").mkdir()
(folder.path / "workspace" / "calc.py").write_text("def add(a, b):\\n    return a + b\\n")
print(folder.path, flush=True)
time.sleep(120)
"""


def killed_worker_folder(tmp_path: Path, prefix: str = "codexweb-attempt-9001-") -> Path:
    worker = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_CHECKOUT, prefix],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout is not None
        folder = Path(worker.stdout.readline().strip())
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    return folder


def test_the_folder_of_a_killed_worker_goes_and_a_live_ones_stays(tmp_path, monkeypatch):
    left = killed_worker_folder(tmp_path)
    assert (left / "workspace" / "calc.py").is_file(), "the kill left the checkout behind"
    outside = tmp_path / "outside.txt"
    outside.write_text("not the worker's\n")
    (left / "workspace" / "link").symlink_to(outside)
    not_ours = tmp_path / "codexweb-attempt-77-made-by-someone-else"
    not_ours.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))

    with HostFolder(prefix="codexweb-verify-5-") as live:
        removed = reap_host_folders(tmp_path)

        assert removed == [str(left)]
        assert not left.exists()
        assert live.path.is_dir(), "this process still runs: its folder stays"
    assert not_ours.is_dir(), "a folder naming no worker is not ours to remove"
    assert outside.read_text() == "not the worker's\n", "a link inside was not followed"
    assert not live.path.exists()


def test_a_checkout_shared_by_siblings_of_a_killed_worker_goes_too(tmp_path):
    """The tree best-of-N siblings copy (tasks/worker/shared_checkout.py) is the worker's too."""
    left = killed_worker_folder(tmp_path, prefix="codexweb-checkout-12-")

    assert reap_host_folders(tmp_path) == [str(left)]
    assert not left.exists()


@pytest.mark.django_db
def test_the_workers_housekeeping_removes_them(tmp_path, monkeypatch, settings):
    from tasks.jobs import housekeeping

    left = killed_worker_folder(tmp_path)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    settings.SANDBOX_BACKEND = "none"

    housekeeping()

    assert not left.exists()
