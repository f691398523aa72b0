"""The host applies an attempt's patch — text the agent wrote — to a checkout of its own: a
follow-up's workspace (`tasks/worker/workspace.apply_parent_patch`) and the tree Create PR and
Push commit (`git apply --index` through `repos.git.mirror.run_git`). The patch must never reach
outside that tree, nor into its `.git` (a hook, `core.fsmonitor` in the config), whatever it
names: `.git/…`, `../…`, a path through a symbolic link the repository already has, or through
one the patch itself adds first. Real git; each patch is refused and nothing is written.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from repos.git.mirror import GitError, run_git
from repos.git.workspace import PrepareError
from tasks.worker.workspace import apply_parent_patch
from tests.support import factories


def new_file(path: str, text: str = "pwned", mode: str = "100644") -> str:
    lines = text.split("\n")
    body = "".join(f"+{line}\n" for line in lines)
    return (f"diff --git a/{path} b/{path}\nnew file mode {mode}\n--- /dev/null\n"
            f"+++ b/{path}\n@@ -0,0 +1,{len(lines)} @@\n{body}")


def link(path: str, target: str) -> str:
    return (f"diff --git a/{path} b/{path}\nnew file mode 120000\n--- /dev/null\n"
            f"+++ b/{path}\n@@ -0,0 +1 @@\n+{target}\n\\ No newline at end of file\n")


HOSTILE = {
    "a hook": new_file(".git/hooks/post-commit", "#!/bin/sh\ntouch /tmp/pwned", "100755"),
    "the attributes": new_file(".git/info/attributes", "* filter=evil"),
    "a nested git dir": new_file("sub/.git/config", "[core]\n\tfsmonitor = touch /tmp/pwned"),
    "a case-folded git dir": new_file(".GIT/config", "[core]"),
    "a parent folder": new_file("../outside/owned"),
    "through the repository's link": new_file("elsewhere/owned"),
    "through a link the patch adds": link("way", "{outside}") + new_file("way/owned"),
    "through a link to .git": link("g", ".git") + new_file("g/hooks/post-commit"),
}


# What git says when it refuses for safety (not a malformed patch or a context mismatch).
REFUSED = r"invalid path|beyond a symbolic link"


@pytest.fixture
def checkout(tmp_path: Path) -> tuple[Path, Path]:
    """A repository whose tree holds a symbolic link to a folder outside it (legal in git)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    tree = factories.make_git_repository(tmp_path / "work", {"README.md": "# demo\n"})
    os.symlink(outside, tree / "elsewhere")
    run_git(["-C", str(tree), "add", "elsewhere"])
    run_git(["-C", str(tree), "-c", "user.name=t", "-c", "user.email=t@example.test", "commit",
             "-q", "-m", "link"])
    return tree, outside


def untouched(tree: Path, outside: Path, config_before: bytes) -> None:
    assert list(outside.iterdir()) == []
    assert (tree / ".git" / "config").read_bytes() == config_before
    assert not [p for p in (tree / ".git" / "hooks").iterdir() if not p.name.endswith(".sample")]
    assert not (tree / ".git" / "info" / "attributes").exists()
    assert run_git(["-C", str(tree), "status", "--porcelain"]) == ""


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_follow_up_refuses_the_patch(checkout, name):
    tree, outside = checkout
    before = (tree / ".git" / "config").read_bytes()
    with pytest.raises(PrepareError, match=REFUSED):
        apply_parent_patch(tree, HOSTILE[name].format(outside=outside))
    untouched(tree, outside, before)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_create_pr_s_apply_refuses_the_patch(checkout, name):
    tree, outside = checkout
    before = (tree / ".git" / "config").read_bytes()
    with pytest.raises(GitError, match=REFUSED):
        run_git(["-C", str(tree), "apply", "--index", "--whitespace=nowarn", "-"],
                input_text=HOSTILE[name].format(outside=outside))
    untouched(tree, outside, before)
