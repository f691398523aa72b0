"""Golden cases for the Codex patch format: tests/agent/patches/<case>/ holds before/, patch.txt
and after/ (the whole tree afterwards) or error.txt (a part of the error message)."""

from __future__ import annotations

import pytest

from tasks.agent.patch import (
    AddFile,
    ApplyError,
    PatchError,
    UpdateFile,
    compute_changes,
    parse_patch,
)
from tests.support.patch_cases import CASES, tree


def _read_from(tree: dict[str, str]):
    return lambda path: tree.get(path)


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_golden_case(case):
    folder = CASES / case
    before = tree(folder / "before")
    text = (folder / "patch.txt").read_text()
    error_file = folder / "error.txt"
    if error_file.exists():
        expected = error_file.read_text().strip()
        with pytest.raises((PatchError, ApplyError)) as caught:
            compute_changes(parse_patch(text), _read_from(before))
        assert expected in str(caught.value)
        return
    result = dict(before)
    for change in compute_changes(parse_patch(text), _read_from(before)):
        if change.content is None:
            result.pop(change.path, None)
        else:
            result[change.path] = change.content
    assert result == tree(folder / "after")


def test_parse_gives_structured_ops():
    patch = parse_patch(
        "*** Begin Patch\n*** Add File: a/b.txt\n+x\n*** Update File: c.py\n*** Move to: d.py\n"
        "@@ def f():\n-    pass\n+    return 1\n*** End Patch\n"
    )
    assert patch.ops[0] == AddFile(path="a/b.txt", content="x\n")
    update = patch.ops[1]
    assert isinstance(update, UpdateFile)
    assert update.move_to == "d.py"
    assert update.chunks[0].context == "def f():"
    assert update.chunks[0].old_lines == ("    pass",)
    assert patch.paths == ["a/b.txt", "c.py", "d.py"]


def test_leading_dot_slash_is_normalized():
    patch = parse_patch("*** Begin Patch\n*** Add File: ./src//x.py\n+x\n*** End Patch")
    assert patch.ops[0].path == "src/x.py"


def test_compute_changes_does_not_touch_the_reader_on_error():
    reads: list[str] = []

    def read(path: str) -> str | None:
        reads.append(path)
        return "a\n"

    patch = parse_patch("*** Begin Patch\n*** Update File: a.txt\n@@\n-zzz\n+y\n*** End Patch")
    with pytest.raises(ApplyError, match="Read the file again"):
        compute_changes(patch, read)
    assert reads == ["a.txt"]
