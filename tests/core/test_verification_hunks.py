"""Hunk ids and combining hunks of several attempts into one patch (tasks/verification/hunks.py):
the combined patch applies with real `git apply` and holds exactly the picked changes; what
cannot be one patch is refused with a sentence naming the hunks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tasks.rendering.diff import diff_view
from tasks.verification.hunks import CombineError, combine, patch_hunks

BEFORE = "".join(f"line {n}\n" for n in range(1, 31))

# Attempt 1 (id 11) changes line 3 and line 25; attempt 2 (id 12) changes line 12 and line 4.
ONE = """diff --git a/notes.txt b/notes.txt
index 1111111..2222222 100644
--- a/notes.txt
+++ b/notes.txt
@@ -1,6 +1,6 @@
 line 1
 line 2
-line 3
+line three
 line 4
 line 5
 line 6
@@ -22,7 +22,8 @@
 line 22
 line 23
 line 24
-line 25
+line twenty-five
+line 25b
 line 26
 line 27
 line 28
"""
TWO = """diff --git a/notes.txt b/notes.txt
index 1111111..3333333 100644
--- a/notes.txt
+++ b/notes.txt
@@ -2,5 +2,5 @@
 line 2
 line 3
-line 4
+line four
 line 5
 line 6
@@ -9,7 +9,7 @@
 line 9
 line 10
 line 11
-line 12
+line twelve
 line 13
 line 14
 line 15
diff --git a/new.txt b/new.txt
new file mode 100644
index 0000000..4444444
--- /dev/null
+++ b/new.txt
@@ -0,0 +1,2 @@
+fresh
+file
"""


def hunks():
    return {11: patch_hunks(11, 1, ONE), 12: patch_hunks(12, 2, TWO)}


def git_apply(tmp_path: Path, patch: str) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "notes.txt").write_text(BEFORE)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    result = subprocess.run(["git", "apply", "-"], cwd=repo, input=patch, text=True,
                            capture_output=True, check=False)
    assert result.returncode == 0, result.stderr + patch
    return repo


def test_ids_follow_the_diff_viewers_files_and_hunks():
    ids = [h.id for h in hunks()[12]]
    assert ids == ["12:0:0", "12:0:1", "12:1:0"]
    view = diff_view(TWO)
    assert [(f.index, len(f.hunks)) for f in view.files] == [(0, 2), (1, 1)]


def test_hunks_of_two_attempts_combine_into_one_patch_that_applies(tmp_path):
    patch = combine(["12:0:1", "11:0:0", "11:0:1", "12:1:0"], hunks())

    repo = git_apply(tmp_path, patch)

    lines = (repo / "notes.txt").read_text().splitlines()
    assert lines[2] == "line three" and lines[11] == "line twelve"
    assert lines[24:26] == ["line twenty-five", "line 25b"]
    assert "line 4" in lines  # attempt 2's other hunk was not picked
    assert (repo / "new.txt").read_text() == "fresh\nfile\n"
    assert "index " not in patch  # blob ids of one attempt's result would be wrong here


def test_the_later_hunks_new_line_numbers_are_shifted_by_the_earlier_ones():
    patch = combine(["11:0:0", "12:0:1", "11:0:1"], hunks())
    headers = [line for line in patch.splitlines() if line.startswith("@@")]
    # line 25's hunk comes after one that changed nothing in length: +22 stays +22.
    assert headers == ["@@ -1,6 +1,6 @@", "@@ -9,7 +9,7 @@", "@@ -22,7 +22,8 @@"]


def test_overlapping_hunks_are_refused_naming_both():
    with pytest.raises(CombineError) as refused:
        combine(["11:0:0", "12:0:0"], hunks())
    message = str(refused.value)
    assert "Hunk 11:0:0 (attempt 1, notes.txt lines 1–6)" in message
    assert "hunk 12:0:0 (attempt 2, lines 2–6) overlap" in message
    assert message.endswith("Pick one of them.")


def test_the_same_hunk_in_two_attempts_counts_once(tmp_path):
    same = {11: patch_hunks(11, 1, ONE), 13: patch_hunks(13, 3, ONE)}
    patch = combine(["11:0:0", "13:0:0"], same)
    assert patch.count("+line three") == 1
    git_apply(tmp_path, patch)


def test_unknown_or_malformed_ids_and_an_empty_pick_are_refused():
    with pytest.raises(CombineError, match="Pick at least one hunk"):
        combine([], hunks())
    with pytest.raises(CombineError, match="is not part of this task's attempts"):
        combine(["11:0:7"], hunks())
    with pytest.raises(CombineError, match="is not a hunk id"):
        combine(["11:0"], hunks())


def test_a_file_one_attempt_adds_and_another_changes_is_refused():
    changed = """diff --git a/new.txt b/new.txt
--- a/new.txt
+++ b/new.txt
@@ -1,2 +1,2 @@
-fresh
+stale
 file
"""
    both = {12: patch_hunks(12, 2, TWO), 14: patch_hunks(14, 4, changed)}
    with pytest.raises(CombineError, match="change new.txt in different ways"):
        combine(["12:1:0", "14:0:0"], both)
