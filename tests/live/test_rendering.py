"""The pure rendering pieces: ANSI, Markdown sanitizing, citations, diffs and highlighting."""

from __future__ import annotations

from html.parser import HTMLParser

from tasks.rendering.citations import INVALID, UNVERIFIED, VALID, check_citations, parse_citations
from tasks.rendering.diff import diff_stats, diff_view, new_file_lines
from tasks.rendering.evidence import collect_evidence, count_lines
from tasks.rendering.highlight import highlight_lines
from tasks.rendering.markdown import render_markdown, render_summary


class _Attributes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.names.update(name for name, _ in attrs)


def attributes_of(html: str) -> set[str]:
    """Every attribute name on any element of `html` (as a browser would parse it)."""
    parser = _Attributes()
    parser.feed(html)
    return parser.names


PATCH = """\
diff --git a/app/util.py b/app/util.py
--- a/app/util.py
+++ b/app/util.py
@@ -1,4 +1,5 @@
 import os
-def f():
+def f(x):
+    \"\"\"Doc.\"\"\"
     return 1
 # end
diff --git a/docs/<img src=x onerror=alert(1)>.md b/docs/<img src=x onerror=alert(1)>.md
new file mode 100644
--- /dev/null
+++ b/docs/<img src=x onerror=alert(1)>.md
@@ -0,0 +1,2 @@
+# Title <script>alert(1)</script>
+text
"""


def test_markdown_escapes_raw_html_and_drops_dangerous_urls():
    html = render_markdown(
        "Hi <script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))"
    )
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    assert 'href="javascript' not in html
    assert render_markdown("**b** `c`") == "<p><strong>b</strong> <code>c</code></p>\n"


def test_citations_are_parsed_with_ranges():
    found = parse_citations("See 【F:app/util.py†L2-L3】 and 【T:7f3a2c†L4】.")
    assert [(c.kind, c.target, c.start, c.end) for c in found] == [
        ("F", "app/util.py", 2, 3),
        ("T", "7f3a2c", 4, 4),
    ]


def test_citations_are_checked_against_patch_and_chunks():
    text = (
        "【F:app/util.py†L2-L3】 【F:app/util.py†L1-L9】 【F:other.py†L1】 "
        "【T:abc†L1-L2】 【T:abc†L5】 【T:nope†L1】 【F:app/util.py†L3-L2】"
    )
    checked = check_citations(parse_citations(text), patch=PATCH, chunk_lines={"abc": 3})
    assert [c.state for c in checked] == [
        VALID,
        UNVERIFIED,
        UNVERIFIED,
        VALID,
        INVALID,
        INVALID,
        INVALID,
    ]


def test_the_workers_verdict_wins():
    cites = parse_citations("【F:other.py†L1】")
    reported = [{"raw": "【F:other.py†L1】", "valid": False, "reason": "no such file"}]
    (c,) = check_citations(cites, patch="", chunk_lines={}, reported=reported)
    assert c.state == INVALID and c.reason == "no such file"


def test_summary_links_citations_and_marks_invalid_ones():
    text = "Fixed 【F:app/util.py†L2】 <b onmouseover=x>bold</b>, tests: 【T:nope†L1】"
    cites = check_citations(parse_citations(text), patch=PATCH, chunk_lines={})
    html = render_summary(text, cites, lambda c: f"/attempts/1/file/?path={c.target}&start=2")
    assert 'class="cite cite-file"' in html
    assert 'href="/attempts/1/file/?path=app/util.py&amp;start=2"' in html
    assert 'class="cite cite-invalid"' in html and "⚠" in html
    assert "onmouseover" not in attributes_of(html)


def test_citation_targets_cannot_break_out_of_attributes():
    text = '【T:x" onclick="alert(1)†L1】'
    cites = check_citations(
        parse_citations(text), patch="", chunk_lines={'x" onclick="alert(1)': 1}
    )
    html = render_summary(text, cites, lambda c: "/f")
    assert attributes_of(html) <= {
        "class",
        "href",
        "data-cite",
        "data-chunk",
        "data-start",
        "data-end",
        "rel",
        "title",
    }


def test_diff_view_counts_and_escapes():
    view = diff_view(PATCH)
    assert (view.added, view.removed) == (4, 1)
    assert [f.status for f in view.files] == ["modified", "added"]
    assert view.files[1].path == "docs/<img src=x onerror=alert(1)>.md"  # escaped by templates
    line_html = view.files[1].hunks[0].lines[0].html
    assert "<script>" not in line_html and "&lt;script&gt;" in line_html
    assert diff_stats(PATCH) == (2, 4, 1)
    assert diff_view("not a diff").files == []
    assert diff_view("@@ broken").error or diff_view("@@ broken").files == []


def test_new_file_lines_from_the_patch():
    known = new_file_lines(PATCH, "app/util.py")
    assert known is not None and not known.complete
    assert known.lines[2] == "def f(x):"
    added = new_file_lines(PATCH, "docs/<img src=x onerror=alert(1)>.md")
    assert (
        added is not None
        and added.complete
        and added.lines
        == {
            1: "# Title <script>alert(1)</script>",
            2: "text",
        }
    )
    assert new_file_lines(PATCH, "missing.py") is None


def test_highlight_lines_keeps_one_string_per_line():
    lines = ['s = """a', 'b"""', "<tag>"]
    out = highlight_lines(lines, "x.py")
    assert len(out) == 3
    assert "<tag>" not in out[2] and "&lt;" in out[2] and "&gt;" in out[2]
    assert highlight_lines(["x"] * 3, "unknown.zzz") == ["x", "x", "x"]


def test_evidence_follows_the_last_test_run_and_usage():
    events = [
        ("command", {"chunk_id": "a", "command": "pytest -q"}),
        ("output", {"chunk_id": "a", "text": "1 failed\n"}),
        ("command_end", {"chunk_id": "a", "exit_code": 1}),
        ("command", {"chunk_id": "b", "command": "ls"}),
        ("command_end", {"chunk_id": "b", "exit_code": 0}),
        ("usage", {"input_tokens": 10, "output_tokens": 5, "cost": 0.01}),
        ("command", {"chunk_id": "c", "command": "python -m pytest"}),
        ("output", {"chunk_id": "c", "text": "\x1b[32mok\x1b[0m\nall good"}),
        ("command_end", {"chunk_id": "c", "exit_code": 0}),
    ]
    evidence = collect_evidence(events)
    assert evidence.tests == "passed"
    assert (evidence.input_tokens, evidence.output_tokens, evidence.cost) == (10, 5, 0.01)
    assert evidence.chunk_lines == {"a": 1, "b": 0, "c": 2}
    assert count_lines("a\nb\n") == 2 and count_lines("a\nb") == 2 and count_lines("") == 0
    assert count_lines("10%\r50%\r\n") == 2  # as the agent's validator counts them
