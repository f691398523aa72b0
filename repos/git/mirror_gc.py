"""Scheduled garbage collection of the host's mirrors.

A force-push leaves the replaced commits in a mirror as unreachable objects; fetches run with
automatic gc off (repos/git/mirror.py), so they stay until this collects them with
`git gc --prune=now`. A round is bounded (at most `limit` mirrors, those collected longest ago
first) and takes each mirror's lock without waiting: a mirror being fetched or checked out is
skipped and comes first next round.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Collection
from pathlib import Path

from repos.git.mirror import GitError, mirror_lock, run_git

logger = logging.getLogger(__name__)

# Marks when a mirror was last collected (git ignores unknown files in a git directory).
STAMP = "codexweb-gc-at"
# A mirror is collected at most this often, however often rounds run.
MIN_SECONDS_BETWEEN = 12 * 3600
# A per-registration mirror no repository uses is removed once untouched this long.
UNUSED_GRACE_SECONDS = 24 * 3600


def mirror_directories(root: Path) -> list[Path]:
    """Every bare mirror under `root` (both layouts: per host/owner/name, per registration)."""
    found = [*root.glob("hosts/*/*/*.git"), *root.glob("registered/*.git")]
    return [path for path in found if (path / "HEAD").is_file()]


def _collected_at(path: Path) -> float:
    try:
        return (path / STAMP).stat().st_mtime
    except OSError:
        return 0.0


def mirrors_collect(*, root: Path, limit: int,
                    min_seconds_between: float = MIN_SECONDS_BETWEEN) -> list[Path]:
    """Collect up to `limit` mirrors due for it; return those collected. A busy mirror is
    skipped without waiting and does not count; one mirror's failure is logged, never raised,
    so it cannot stop the others."""
    now = time.time()
    due = [p for p in mirror_directories(root) if now - _collected_at(p) >= min_seconds_between]
    due.sort(key=_collected_at)
    collected: list[Path] = []
    for path in due:
        if len(collected) >= limit:
            break
        try:
            with mirror_lock(path, timeout=0):
                run_git(["-C", str(path), "reflog", "expire", "--expire=now",
                         "--expire-unreachable=now", "--all"])
                run_git(["-C", str(path), "gc", "--quiet", "--prune=now"])
                (path / STAMP).touch()
        except GitError as exc:
            logger.info("mirror gc skipped %s: %s", path, exc)
            continue
        collected.append(path)
    return collected


def _fetched_at(path: Path) -> float:
    """When the mirror was last created or fetched (git writes FETCH_HEAD on every fetch); gc
    touches the folder, so its own time says nothing about use."""
    times = []
    for name in ("FETCH_HEAD", "HEAD"):
        try:
            times.append((path / name).stat().st_mtime)
        except OSError:
            continue
    return max(times, default=0.0)


def mirrors_remove_unused(*, root: Path, in_use: Collection[Path], limit: int,
                          grace_seconds: float = UNUSED_GRACE_SECONDS) -> list[Path]:
    """Delete up to `limit` per-registration mirrors that no repository uses any more (its row
    is gone, or it was registered again from another location) and that nothing touched for
    `grace_seconds`. Busy mirrors are skipped. Returns those deleted."""
    now = time.time()
    removed: list[Path] = []
    for path in sorted(root.glob("registered/*.git")):
        if len(removed) >= limit:
            break
        if path in in_use or now - _fetched_at(path) < grace_seconds:
            continue
        try:
            with mirror_lock(path, timeout=0):
                shutil.rmtree(path)
        except (GitError, OSError) as exc:
            logger.info("removing unused mirror %s skipped: %s", path, exc)
            continue
        Path(f"{path}.lock").unlink(missing_ok=True)
        removed.append(path)
    return removed
