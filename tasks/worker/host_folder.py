"""The attempt's folder on the host (its checkout, a follow-up's setup tree), gone as soon as the
container has its copy.

A repository's checkout is only read once, when the sandbox starts and copies it in; keeping it
for the whole attempt held its disk space (a 76 MB tree, times every attempt running) and left
its removal to after the attempt showed Succeeded, on the worker's slot (≈ 2 s and 0.6 CPU-s of
the worker's own Python for 7,000 files here). `release()` hands the removal to `rm`, another
process, while the agent works; the end only waits for it and clears what is left.

A worker killed before that leaves its folder behind: each folder names its worker (`owner`,
as the sandbox runtime folders do) and housekeeping removes those whose worker is gone
(`reap_host_folders`).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Protocol

from tasks.sandbox.spec import owner_token

logger = logging.getLogger(__name__)

# Bounded: a removal that takes longer is killed and the rest removed in this process.
REMOVAL_WAIT_SECONDS = 120.0

# The prefixes the worker's folders are made with (an attempt, a verification, a setup run).
HOST_FOLDER_GLOBS = (
    "codexweb-attempt-*", "codexweb-verify-*", "codexweb-setup-*", "codexweb-checkout-*"
)
OWNER_FILE = "owner"


class Held(Protocol):
    """Something else on the host the attempt reads only until its container has its copy (a
    checkout shared with its siblings: tasks/worker/shared_checkout.py)."""

    def release(self) -> None: ...

    def close(self) -> None: ...


class HostFolder:
    """A temporary folder for one attempt: a context manager like `TemporaryDirectory`, plus
    `release()` to start removing it early. `rm` never follows a symbolic link (the checkout may
    hold links to anywhere) nor leaves the folder's file system."""

    def __init__(self, prefix: str) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=prefix))
        (self.path / OWNER_FILE).write_text(owner_token())
        self._removal: subprocess.Popen[bytes] | None = None
        self._held: list[Held] = []

    def hold(self, held: Held) -> None:
        """Release `held` with this folder, and close it when this folder closes."""
        self._held.append(held)

    def release(self) -> None:
        """Start removing the folder in the background; nothing in it is read afterwards."""
        for held in self._held:
            held.release()
        if self._removal is not None:
            return
        try:
            self._removal = subprocess.Popen(
                ["rm", "-rf", "--one-file-system", "--", str(self.path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError as exc:  # no process to spare: the end removes it as before
            logger.warning("could not start removing %s: %s", self.path, exc)

    def close(self) -> None:
        """Wait for a removal under way (bounded), then remove whatever is still there."""
        held, self._held = self._held, []
        try:
            for each in held:
                each.close()
        finally:
            self._remove()

    def _remove(self) -> None:
        removal, self._removal = self._removal, None
        if removal is not None:
            try:
                removal.wait(timeout=REMOVAL_WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                logger.warning("removing %s took over %.0f s; finishing it here",
                               self.path, REMOVAL_WAIT_SECONDS)
                removal.kill()
                removal.wait()
        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> HostFolder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def reap_host_folders(
    parent: Path | None = None, *, is_alive: Callable[[str], bool] | None = None
) -> list[str]:
    """Remove the folders under `parent` (the temporary folder) whose worker is gone; their
    paths. A folder naming no worker (not ours, or still being made) is left alone."""
    from tasks.sandbox.reaper import owner_alive

    alive = is_alive or owner_alive
    parent = parent or Path(tempfile.gettempdir())
    removed: list[str] = []
    for pattern in HOST_FOLDER_GLOBS:
        for folder in sorted(parent.glob(pattern)):
            owner_file = folder / OWNER_FILE
            if folder.is_symlink() or not folder.is_dir() or owner_file.is_symlink():
                continue
            try:
                owner = owner_file.read_text().strip()
            except OSError:
                continue
            if not owner or alive(owner):
                continue
            shutil.rmtree(folder, ignore_errors=True)  # never follows a link inside
            removed.append(str(folder))
    return removed
