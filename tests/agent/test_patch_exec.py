"""apply_patch's one-exec program (tasks/agent/patch_exec.py), run by this machine's Python on
a real folder: the golden cases give the same trees and errors as the host-side code, and the
driver's own rules (links refused, nothing written when something is refused, what was written
when a write fails half-way) hold. Inside the container it is tested in test_real_sandbox.py."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.agent import patch_exec, program_launch
from tests.support.patch_cases import CASES, tree


def apply(root: Path, text: str) -> patch_exec.Outcome:
    line = patch_exec.command(text, str(root))
    assert line is not None
    done = run_here(line, cwd=root)
    return patch_exec.outcome(done.returncode, done.stdout, done.stderr)


def run_here(line: str, *, cwd: Path) -> subprocess.CompletedProcess:
    """Run the command with the Python running the tests (the container has /usr/bin/python3),
    in `cwd` as the tool does (/workspace)."""
    line = line.replace("/usr/bin/python3", shlex.quote(sys.executable), 1)
    return subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=60,
                          cwd=cwd)


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_golden_case_in_one_program(case, tmp_path):
    folder = CASES / case
    root = tmp_path / "workspace"
    if (folder / "before").exists():
        shutil.copytree(folder / "before", root)
    else:
        root.mkdir()
    for keep in root.rglob(".keep"):
        keep.unlink()

    outcome = apply(root, (folder / "patch.txt").read_text())

    if (folder / "error.txt").exists():
        assert outcome.error in ("patch", "apply")
        assert (folder / "error.txt").read_text().strip() in outcome.message
        assert tree(root) == tree(folder / "before")  # nothing written
    else:
        assert outcome.error == "", outcome
        assert tree(root) == tree(folder / "after")


def test_a_link_anywhere_on_a_path_refuses_the_whole_patch(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "workspace"
    root.mkdir()
    (root / "linked").symlink_to(outside)
    (root / "file_link").symlink_to(outside / "target.txt")

    for path in ("linked/a.txt", "file_link"):
        outcome = apply(root, f"*** Begin Patch\n*** Add File: ok.txt\n+x\n*** Add File: {path}\n"
                              "+owned\n*** End Patch")
        assert (outcome.error, outcome.path, outcome.done) == ("link", path, ())
    assert list(outside.iterdir()) == []
    assert not (root / "ok.txt").exists()


def test_a_folder_that_cannot_be_made_writes_nothing(tmp_path):
    root = tmp_path / "workspace"
    root.mkdir()
    (root / "sub").write_text("a file where the patch needs a folder\n")

    outcome = apply(root, "*** Begin Patch\n*** Add File: a.txt\n+a\n*** Add File: b.txt\n+b\n"
                          "*** Delete File: sub\n*** Add File: sub/c.txt\n+c\n*** End Patch")

    # Deletes come after the writes (as before), so the folder sub cannot be made; folders are
    # made before any file is written, so nothing was (a half-way write: test_real_sandbox.py).
    assert (outcome.error, outcome.path, outcome.done) == ("write", "sub", ())
    assert not (root / "a.txt").exists() and (root / "sub").is_file()


def test_modules_planted_in_the_workspace_are_not_imported(tmp_path):
    """The program runs in /workspace, where the model writes: `-I` keeps it off sys.path."""
    root = tmp_path / "workspace"
    root.mkdir()
    for module in ("stat", "posixpath", "zlib", "binascii"):
        (root / f"{module}.py").write_text(
            f"open({str(tmp_path / 'pwned')!r}, 'w').write('{module}')\n")

    outcome = apply(root, "*** Begin Patch\n*** Add File: a.txt\n+a\n*** End Patch")

    assert outcome.error == ""
    assert not (tmp_path / "pwned").exists()


def test_the_answer_survives_any_characters(tmp_path):
    root = tmp_path / "workspace"
    root.mkdir()
    name = 'we"ird\\name \u00e9.txt'
    outcome = apply(root, f"*** Begin Patch\n*** Add File: {name}\n+\u00e9\x01\n*** End Patch")
    assert outcome.changes == ((name, False),)
    assert (root / name).read_text() == "\u00e9\x01\n"


def test_the_program_needs_neither_dataclasses_nor_json(tmp_path):
    """They cost ≈ 0.2 s per call on a loaded machine (dataclasses imports inspect, re, enum)."""
    program = patch_exec.program()
    probe = program.replace("\nmain()\n", "\nmain()\nprint(sorted({'dataclasses', 'json', 're', "
                                          "'inspect'} & set(sys.modules)))\n")
    assert probe != program
    packed = patch_exec.command("*** Begin Patch\n*** Add File: a\n+a\n*** End Patch",
                                str(tmp_path))
    assert packed is not None
    line = packed.replace(program_launch.launch(patch_exec.MARKER, program),
                          program_launch.launch(patch_exec.MARKER, probe))
    done = run_here(line, cwd=tmp_path)
    assert done.stdout.splitlines()[-1] == "[]"


def test_a_patch_too_long_for_one_argument_gets_no_command():
    big = "*** Begin Patch\n*** Add File: a\n" + "".join(
        f"+{os.urandom(32).hex()}\n" for _ in range(3000)) + "*** End Patch"
    assert patch_exec.command(big, "/workspace") is None
    assert patch_exec.command(big[:2000] + "\n*** End Patch", "/workspace") is not None
