"""What the GitHub double reads from a served bare repository: commits, merge bases, changed files.

Plain `git` on `GitHubRepo.git_dir`; the REST handlers (github_rest.py) turn these into GitHub's
payloads. A repository without a git directory has no history to read (callers answer 404).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

_STATUS = {"A": "added", "D": "removed", "M": "modified", "R": "renamed", "C": "copied",
           "T": "changed"}


@dataclass(frozen=True)
class CommitDetails:
    sha: str
    tree: str
    parents: list[str]
    message: str
    author: tuple[str, str, str]  # name, email, ISO date
    committer: tuple[str, str, str]


@dataclass(frozen=True)
class FileChange:
    filename: str
    status: str  # diff-entry's status words: added, removed, modified, renamed, ...
    additions: int
    deletions: int
    sha: str | None  # the blob in the head commit (None when removed)
    previous_filename: str | None = None


def _git(git_dir: Path, *args: str, check: bool = True) -> str:
    result = subprocess.run(["git", "-C", str(git_dir), *args], capture_output=True, text=True,
                            check=False)
    if check and result.returncode != 0:
        raise LookupError(result.stderr.strip() or f"git {args[0]} failed")
    return result.stdout


def resolve(git_dir: Path, ref: str) -> str | None:
    """The commit `ref` (a branch, tag or sha) names, or None."""
    if ref.startswith("-"):
        return None
    out = _git(git_dir, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    return out.strip() or None


def commit_details(git_dir: Path, sha: str) -> CommitDetails:
    fields = _git(git_dir, "show", "-s", "--format=%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn"
                  "%x00%ce%x00%cI%x00%B", sha).split("\x00")
    return CommitDetails(
        sha=fields[0], tree=fields[1], parents=fields[2].split(), message=fields[9].rstrip("\n"),
        author=(fields[3], fields[4], fields[5]), committer=(fields[6], fields[7], fields[8]),
    )


def merge_base(git_dir: Path, base: str, head: str) -> str | None:
    return _git(git_dir, "merge-base", base, head, check=False).strip() or None


def commits_between(git_dir: Path, base: str, head: str) -> list[str]:
    """Commits reachable from `head` and not from `base`, oldest first (GitHub's order)."""
    return _git(git_dir, "rev-list", "--reverse", f"{base}..{head}").split()


def changed_files(git_dir: Path, base: str, head: str) -> list[FileChange]:
    """Files changed from `base` to `head`, with line counts (binary files count 0)."""
    counts: dict[str, tuple[int, int]] = {}
    for line in _git(git_dir, "diff", "--numstat", "-M", "-z", base, head).split("\x00"):
        parts = line.split("\t")
        if len(parts) == 3 and parts[2]:
            counts[parts[2]] = (int(parts[0]) if parts[0].isdigit() else 0,
                                int(parts[1]) if parts[1].isdigit() else 0)
    fields = _git(git_dir, "diff", "--name-status", "-M", "-z", base, head).split("\x00")
    changes: list[FileChange] = []
    index = 0
    while index < len(fields) and fields[index]:
        code = fields[index][0]
        if code in "RC":
            old, new = fields[index + 1], fields[index + 2]
            index += 3
        else:
            old, new = None, fields[index + 1]
            index += 2
        added, deleted = counts.get(new, (0, 0))
        blob = None if code == "D" else (
            _git(git_dir, "rev-parse", f"{head}:{new}", check=False).strip() or None)
        changes.append(FileChange(new, _STATUS.get(code, "changed"), added, deleted, blob, old))
    return changes


def file_patch(git_dir: Path, base: str, head: str, path: str) -> str:
    """The unified diff hunks of one file (without the `diff --git` header lines)."""
    out = _git(git_dir, "diff", "-M", base, head, "--", path)
    return "\n".join(line for line in out.splitlines()
                     if not line.startswith(("diff --git", "index ", "--- ", "+++ ", "new file",
                                             "deleted file", "similarity", "rename ")))
