"""The patch is the one thing of the sandbox the host takes in (tasks/agent/collect.py) and
applies to a checkout of its own (a follow-up's workspace, Create PR). What the agent wrote must
arrive byte for byte or not at all: a file in Latin-1 (an old project's sources), a file name
that is not UTF-8, one with a newline and an escape sequence in it. A patch decoded with
replacement characters would write other bytes on the host than the agent wrote (or silently
not apply), so the person would review one change and publish another. Text that is not UTF-8
crosses as a git binary patch.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tasks.agent.collect import collect_patch, commit_changes
from tasks.rendering.diff import diff_view
from tasks.sandbox.base import SandboxError
from tasks.worker.workspace import apply_parent_patch
from tests.security.sandbox_support import GIT, commit_of

pytestmark = pytest.mark.docker

LATIN1 = "caf\xe9 cr\xe8me br\xfbl\xe9e\n".encode("latin-1")


def latin1_checkout(path: Path) -> str:
    path.mkdir(parents=True)
    (path / "menu.txt").write_bytes(LATIN1 + b"prix: 3\n")
    subprocess.run(GIT + ["init", "-q"], cwd=path, check=True)
    subprocess.run(GIT + ["add", "-A"], cwd=path, check=True)
    subprocess.run(GIT + ["commit", "-qm", "c"], cwd=path, check=True)
    return commit_of(path)


# Files whose names hold a byte that is not UTF-8, a newline and an escape sequence.
ODD_NAMES = (
    "printf 'x\\n' > \"$(printf 'na\\xefve.txt')\""
    " && printf 'y\\n' > \"$(printf 'two\\nlines\\033[2J.txt')\""
    " && printf '#!/bin/sh\\n' > suid.sh && chmod 4755 suid.sh"
    " && printf '\\000\\377\\001binary\\n\\000' > blob.bin"
)
BLOB = b"\x00\xff\x01binary\n\x00"


def take(sandbox, base: str):  # noqa: ANN001, ANN201
    return commit_changes(sandbox, name="a", email="a@example.test", title="t", base_commit=base)


def changed_sandbox(make_sandbox, tmp_path: Path, change: str):  # noqa: ANN001, ANN201
    """A sandbox on the Latin-1 checkout (tmp_path/repo) after `change` ran there, the agent's
    commit made; (sandbox, base commit, what the commit returned)."""
    source = tmp_path / "repo"
    base = latin1_checkout(source)
    sandbox = make_sandbox(workspace=source)
    assert sandbox.exec(change, timeout=60).exit_code == 0
    done = take(sandbox, base)
    assert done.committed, done.error
    return sandbox, base, done


def applied_on_host(sandbox, base: str, done, tmp_path: Path) -> tuple[str, Path]:  # noqa: ANN001
    """The patch as the host takes it, applied to a copy of the checkout (tmp_path/host) as a
    follow-up's workspace or Create PR would; (the patch, that copy)."""
    patch = done.patch if done.patch is not None else collect_patch(sandbox, base)
    host = tmp_path / "host"
    shutil.copytree(tmp_path / "repo", host)
    apply_parent_patch(host, patch)
    return patch, host


def test_odd_file_names_cross_byte_for_byte(make_sandbox, tmp_path):
    sandbox, base, done = changed_sandbox(make_sandbox, tmp_path, ODD_NAMES)

    patch, host = applied_on_host(sandbox, base, done, tmp_path)

    names = {os.fsencode(p.name) for p in host.iterdir()}
    assert b"na\xefve.txt" in names
    assert b"two\nlines\x1b[2J.txt" in names
    assert (host / os.fsdecode(b"na\xefve.txt")).read_bytes() == b"x\n"
    # A setuid bit set inside is not carried: git records 100755 at most.
    assert (host / "suid.sh").stat().st_mode & 0o7777 == 0o755
    # A binary file (NUL and high bytes) crosses whole (git's base85 `--binary`).
    assert (host / "blob.bin").read_bytes() == BLOB
    # The review page names the files as they are (git's quotes taken off), not `"b/…"`.
    shown = {f.path for f in diff_view(patch).files}
    assert {"two\nlines\x1b[2J.txt", "na\ufffdve.txt", "suid.sh", "blob.bin"} <= shown


LATIN1_EDIT = "sed -i 's/prix: 3/prix: 4/' menu.txt && printf 'd\\xe9j\\xe0 vu\\n' > new.txt"


def test_text_that_is_not_utf8_crosses_byte_for_byte_as_binary(make_sandbox, tmp_path):
    """A Latin-1 file the agent edited, and one it wrote: as text the patch would carry U+FFFD
    for é, so the host would not apply it (context) or, for a new file, would write other bytes
    than reviewed. They cross as git binary patches instead; the UTF-8 file beside them stays a
    text diff the person can read."""
    sandbox, base, done = changed_sandbox(
        make_sandbox, tmp_path, LATIN1_EDIT + " && printf 'plain\\n' > utf8.txt"
    )
    assert done.patch is None  # not taken with the commit: collect_patch decides

    patch, host = applied_on_host(sandbox, base, done, tmp_path)

    assert "\ufffd" not in patch
    assert (host / "menu.txt").read_bytes() == LATIN1 + b"prix: 4\n"
    assert (host / "new.txt").read_bytes() == b"d\xe9j\xe0 vu\n"
    assert (host / "utf8.txt").read_bytes() == b"plain\n"
    statuses = {f.path: f.status for f in diff_view(patch).files}
    assert statuses == {"menu.txt": "binary", "new.txt": "binary", "utf8.txt": "added"}


def test_text_the_repository_forces_to_diff_as_text_is_refused_never_changed(
        make_sandbox, tmp_path):
    """The repository's own .gitattributes says `diff` (text) for the Latin-1 file: it cannot
    cross as binary, so the patch is refused with a sentence naming it, never changed."""
    sandbox, base, done = changed_sandbox(
        make_sandbox, tmp_path, "echo 'menu.txt diff' > .gitattributes && " + LATIN1_EDIT
    )

    with pytest.raises(SandboxError) as refused:
        collect_patch(sandbox, base)
    assert "not UTF-8" in str(refused.value)
    assert "menu.txt" in str(refused.value)


def test_a_real_replacement_character_is_kept(make_sandbox, tmp_path):
    """U+FFFD that a UTF-8 file really holds is not mistaken for a lost byte."""
    sandbox, base, done = changed_sandbox(
        make_sandbox, tmp_path, "printf 'a\\xef\\xbf\\xbdb\\n' > real.txt"
    )

    _patch, host = applied_on_host(sandbox, base, done, tmp_path)
    assert (host / "real.txt").read_bytes() == b"a\xef\xbf\xbdb\n"
