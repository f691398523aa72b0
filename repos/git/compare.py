"""What a Review task reads from the host mirror: a pull request's head, and the diff of a head
against its base (`base...head`, from their merge base), computed on the host from the bare
mirror: nothing from the reviewed tree runs here (no hooks, no diff drivers, no text
conversion), and only text comes out.
"""

from __future__ import annotations

from repos.git.mirror import (
    GitError,
    _fetch_source,
    mirror_commit,
    mirror_lock,
    mirror_path,
    run_git,
)
from repos.models import Repository

MAX_DIFF_BYTES = 5_000_000


def pull_ref(number: int) -> str:
    """Where a pull request's head is kept in the mirror (GitHub's own name for it)."""
    return f"refs/pull/{int(number)}/head"


def mirror_fetch_pull(repository: Repository, number: int, *, token: str | None = None) -> str:
    """Fetch pull request `number`'s head into the mirror as `refs/pull/N/head` (forks
    included); returns that ref. Raises GitError when the host does not serve it."""
    if number < 1:
        raise GitError(f"#{number} is not a pull request number")
    path = mirror_path(repository)
    url, options = _fetch_source(repository)
    ref = pull_ref(number)
    with mirror_lock(path):
        run_git([*options, "-c", "gc.auto=0", "-C", str(path), "fetch", "--quiet", "--no-tags",
                 url, f"+{ref}:{ref}"], token=token, remote_url=url)
    return ref


def mirror_diff(repository: Repository, *, base: str, head: str) -> tuple[str, str, str]:
    """(merge base, head commit, unified diff of merge base..head) for refs in the mirror.

    Raises GitError when a ref is unknown, the two share no history or the diff is too large.
    """
    path = str(mirror_path(repository))
    with mirror_lock(mirror_path(repository), shared=True):
        head_sha = mirror_commit(repository, head)
        base_tip = mirror_commit(repository, base)
        try:
            merge_base = run_git(["-C", path, "merge-base", base_tip, head_sha]).strip()
        except GitError as exc:
            raise GitError(f"{head!r} shares no history with {base!r}") from exc
        diff = run_git(["-C", path, "-c", "core.quotePath=false", "-c", "diff.noprefix=false",
                        "diff", "--no-ext-diff", "--no-textconv", "--no-color", "--full-index",
                        "-M", merge_base, head_sha, "--"])
    if len(diff.encode()) > MAX_DIFF_BYTES:
        raise GitError(f"the diff of {head!r} against {base!r} is larger than "
                       f"{MAX_DIFF_BYTES // 1_000_000} MB, too large to review")
    return merge_base, head_sha, diff
