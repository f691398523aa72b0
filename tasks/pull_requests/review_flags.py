"""What a reviewer must not miss in a patch, and the list of files it changes.

Django-free. Flags: symlinks (above all those pointing outside the repository: a later build or
tool that follows them reads or writes elsewhere), new executables and files made executable,
`.gitattributes`/`.gitmodules` (they change how git checks out, filters or fetches code) and CI
configuration (it runs with the repository's secrets on the next push). A pull request body
lists them at the top; see repos/pull_sections.py.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from tasks.rendering.diff import clean_path, file_status

SYMLINK_MODE = "120000"
EXECUTABLE_MODE = "100755"
GIT_CONFIG_FILES = (".gitattributes", ".gitmodules")
CI_PREFIXES = (".github/workflows/", ".github/actions/", ".circleci/", ".buildkite/",
               ".gitlab/ci/", ".azure-pipelines/")
CI_FILES = (".gitlab-ci.yml", ".travis.yml", "azure-pipelines.yml", "Jenkinsfile",
            "bitbucket-pipelines.yml", ".drone.yml", ".github/dependabot.yml", "appveyor.yml")


@dataclass(frozen=True)
class FileChange:
    path: str
    old_path: str
    status: str  # added, removed, modified, renamed, binary, mode
    added: int
    removed: int


LABELS = {"symlink_outside": "symlink out of the repository", "symlink": "symlink",
          "executable": "executable", "git_config": "git config", "ci": "CI config"}


@dataclass(frozen=True)
class ReviewFlag:
    path: str
    kind: str  # symlink_outside, symlink, executable, git_config, ci
    message: str

    @property
    def label(self) -> str:
        """A word or two for a badge beside the file in the diff."""
        return LABELS.get(self.kind, self.kind)


def _parse(patch: str) -> PatchSet | None:
    if not patch.strip():
        return None
    try:
        return PatchSet(patch.splitlines(keepends=True))
    except UnidiffParseError:
        return None


def _new_mode(patched) -> str:
    """The mode the change gives the file ("" when it keeps its mode or is removed)."""
    for line in patched.patch_info:
        for prefix in ("new file mode ", "new mode "):
            if line.startswith(prefix):
                return line[len(prefix):].strip()
    return ""


def file_changes(patch: str) -> list[FileChange]:
    """Every file the patch touches, in patch order (empty for an empty or malformed patch)."""
    parsed = _parse(patch)
    if parsed is None:
        return []
    changes = []
    for patched in parsed:
        status = file_status(patched)
        if status == "modified" and not (patched.added or patched.removed) and _new_mode(patched):
            status = "mode"
        path = clean_path(patched.target_file) or clean_path(patched.source_file) or patched.path
        changes.append(FileChange(path, clean_path(patched.source_file) or path, status,
                                  patched.added, patched.removed))
    return changes


def symlink_leaves_repository(link: str, target: str) -> bool:
    """True when the link at `link` (repository-relative) points outside the repository."""
    if target.startswith(("/", "~")) or "\\" in target:
        return True
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(link), target))
    return resolved == ".." or resolved.startswith("../")


def _symlink_target(patched) -> str:
    for hunk in patched:
        for line in hunk:
            if line.is_added:
                return line.value.rstrip("\n")
    return ""


def _is_ci(path: str) -> bool:
    return path.startswith(CI_PREFIXES) or path in CI_FILES


def flags_by_path(patch: str) -> dict[str, list[ReviewFlag]]:
    """review_flags grouped by file, for the diff view."""
    grouped: dict[str, list[ReviewFlag]] = {}
    for flag in review_flags(patch):
        grouped.setdefault(flag.path, []).append(flag)
    return grouped


def review_flags(patch: str) -> list[ReviewFlag]:
    """The changes in `patch` a reviewer must look at, one flag per file and reason."""
    parsed = _parse(patch)
    if parsed is None:
        return []
    flags: list[ReviewFlag] = []
    for patched in parsed:
        path = clean_path(patched.target_file) or clean_path(patched.source_file) or patched.path
        mode = _new_mode(patched)
        if mode == SYMLINK_MODE:
            target = _symlink_target(patched)
            if symlink_leaves_repository(path, target):
                flags.append(ReviewFlag(path, "symlink_outside",
                                        f"symlink pointing outside the repository, to `{target}`"))
            else:
                flags.append(ReviewFlag(path, "symlink", f"symlink to `{target}`"))
        elif mode == EXECUTABLE_MODE:
            what = "new executable file" if patched.is_added_file else "made executable"
            flags.append(ReviewFlag(path, "executable", what))
        if posixpath.basename(path) in GIT_CONFIG_FILES:
            flags.append(ReviewFlag(path, "git_config",
                                    "changes how git checks out, filters or fetches files"))
        if _is_ci(path):
            flags.append(ReviewFlag(path, "ci", "CI configuration: runs on the next push, "
                                                "with the repository's secrets"))
    return flags
