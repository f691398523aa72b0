"""The GitHub review made from findings (tasks/reviews/posting.py): a finding on a line the diff
shows is a line comment; one elsewhere, and every malformed one, goes into the review's text."""

from __future__ import annotations

from tasks.agent.findings import Finding, MalformedFinding
from tasks.agent.records import Citation
from tasks.reviews.posting import commentable_lines, review_draft

DIFF = """diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1,2 +1,5 @@
 def add(a, b):
-    return a - b
+    return a + b
+
+def mul(a, b):
+    return a + b
diff --git a/old.py b/old.py
deleted file mode 100644
--- a/old.py
+++ /dev/null
@@ -1 +0,0 @@
-gone = True
"""
BLOB = "https://github.example/acme/calc/blob/abc123"


def cite(path: str, start: int, valid: bool = True) -> Citation:
    return Citation(f"【F:{path}†L{start}】", "F", path, start, start, valid,
                    "" if valid else "past the end")


def test_commentable_lines_are_the_new_sides_lines_the_diff_shows():
    assert commentable_lines(DIFF) == {"calc.py": {1, 2, 3, 4, 5}}
    assert commentable_lines("") == {} and commentable_lines("not a diff\n@@") == {}


def test_findings_on_shown_lines_are_comments_the_rest_go_into_the_body():
    inside = Finding("calc.py", 5, "blocker", "`mul` adds 【F:calc.py†L5】.", [cite("calc.py", 5)])
    outside = Finding("README.md", 9, "nit", "Typo 【F:README.md†L9】.",
                      [cite("README.md", 9, valid=False)])
    draft = review_draft(summary="Not ready.", findings=[inside, outside],
                         malformed=[MalformedFinding('{"line": "two"}', "line: not an int")],
                         diff=DIFF, blob_base=BLOB, task_url="https://cw.example/tasks/4/")

    (comment,) = draft.comments
    assert (comment.path, comment.line, comment.side) == ("calc.py", 5, "RIGHT")
    assert comment.body == f"**🛑 blocker**: `mul` adds [calc.py#L5]({BLOB}/calc.py#L5)."
    assert draft.outside == 1
    assert draft.body.startswith("Not ready.\n\n### Findings on lines outside the diff\n")
    assert ("- `README.md` line 9: **nit**: Typo ⚠ README.md L9 (invalid citation: past the "
            "end).") in draft.body
    assert "### ⚠ Findings that could not be read\n- line: not an int\n  > {\"line\": \"two\"}" \
        in draft.body
    assert draft.body.endswith("Review by the codexweb agent: https://cw.example/tasks/4/\n")


def test_no_findings_says_so():
    draft = review_draft(summary="", findings=[], malformed=[], diff=DIFF, blob_base=BLOB)
    assert draft.comments == [] and "No findings." in draft.body
    assert draft.body.startswith("(The agent left no overall assessment.)")
