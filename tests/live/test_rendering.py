"""The pure rendering pieces: Markdown sanitizing, stored citation verdicts shown, diffs,
highlighting, and the chunks and test evidence folded from events."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tasks.agent.citations import check_citations
from tasks.agent.records import Citation, TerminalChunk
from tasks.recorded import chunks_from_events, stored_citations, summary_flags
from tasks.rendering.diff import diff_stats, diff_view, new_file_lines
from tasks.rendering.evidence import collect_evidence
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


TREE = {"app/util.py": "import os\ndef f(x):\n    return 1\n"}
CHUNKS = {"abc": TerminalChunk("abc", "pytest -q", "/workspace", "1 passed\nok\ndone\n", 0)}


def stored(text: str, tree=TREE, chunks=CHUNKS) -> dict:
    """The "summary" event payload the worker writes for `text` (tasks/agent/loop.py)."""
    report = check_citations(text, read_file=tree.get, chunks=chunks)
    return {"text": text, "citations": [c.to_dict() for c in report.citations],
            "flags": report.flags}


def test_stored_verdicts_round_trip_and_malformed_rows_are_skipped():
    text = "【F:./app/util.py†L2-L3】 【F:app/util.py†L1-L9】 【T:abc†L1-L2】 【T:nope†L1】"
    payload = stored(text)
    payload["citations"] += [{"raw": "x", "kind": "Q", "valid": True}, "junk", {"valid": "yes"}]
    citations = stored_citations(payload)
    assert [(c.target, c.valid) for c in citations] == [
        ("app/util.py", True),  # the worker's normalized path, not the text as written
        ("app/util.py", False),
        ("abc", True),
        ("nope", False),
    ]
    assert "past the end" in citations[1].reason
    assert stored_citations({}) == [] and stored_citations({"citations": "junk"}) == []
    assert summary_flags(payload) == [] and summary_flags({"flags": "x"}) == []


def test_the_stored_verdict_is_shown_not_checked_again():
    """What the worker saw wins: a citation it found valid stays a link even though nothing the
    page has (no patch, no chunks) could confirm it, and one it rejected stays marked."""
    ok = Citation("【F:gone.py†L1】", "F", "gone.py", 1, 1, valid=True)
    bad = Citation("【T:abc†L1】", "T", "abc", 1, 1, valid=False, reason="no such chunk")
    html = render_summary(f"{ok.raw} {bad.raw}", [ok, bad], lambda c: f"/f?path={c.target}")
    assert '<a class="cite cite-file" href="/f?path=gone.py"' in html
    assert 'title="Invalid citation: no such chunk"' in html and "⚠ terminal abc L1" in html


def test_summary_links_citations_and_marks_invalid_ones():
    text = "Fixed 【F:app/util.py†L2】 <b onmouseover=x>bold</b>, tests: 【T:nope†L1】"
    cites = stored_citations(stored(text))
    html = render_summary(text, cites, lambda c: f"/attempts/1/file/?path={c.target}&start=2")
    assert 'class="cite cite-file"' in html
    assert 'href="/attempts/1/file/?path=app/util.py&amp;start=2"' in html
    assert 'class="cite cite-invalid"' in html and "⚠" in html
    assert "onmouseover" not in attributes_of(html)


def test_a_citation_without_a_stored_verdict_stays_plain_text():
    html = render_summary("See 【F:app/util.py†L2】.", [], lambda c: "/f")
    assert "<a" not in html and "【F:app/util.py†L2】" in html


def test_citation_targets_cannot_break_out_of_attributes():
    target = 'x" onclick="alert(1)'
    text = f"【T:{target}†L1】"
    cites = stored_citations(stored(text, chunks={target: TerminalChunk(target, "", "", "1\n")}))
    assert cites[0].valid
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


@pytest.mark.parametrize(("command", "exit_code", "tests"), [
    ("python3 -m unittest tests.test_recipes 2>&1 | tail -4", 0, "ran"),  # tail's exit code
    ("pytest -q | tail -5", 1, "failed"),
    ("pytest -q || echo retry", 0, "ran"),  # 0 may be echo's, after failed tests
    ("pytest -q; echo done", 0, "ran"),  # echo's
    ("pytest -q\necho done", 0, "ran"),
    ("pytest -q & wait", 0, "ran"),  # a background run's code is not the command's
    ("pytest -q 2>&1 && echo ok", 0, "passed"),  # && runs echo only after passing tests
    ("cd pkg && pytest -q &> log.txt", 0, "passed"),  # a redirection, not a second command
    ("pip install -e . >/dev/null; pytest -q", 0, "passed"),  # what comes before is fine
])
def test_a_test_run_whose_exit_code_is_another_commands_is_not_called_passed(
    command, exit_code, tests
):
    events = [
        ("command", {"chunk_id": "a", "command": command}),
        ("output", {"chunk_id": "a", "text": "FAILED (failures=1, skipped=1)\n"}),
        ("command_end", {"chunk_id": "a", "exit_code": exit_code}),
    ]
    assert collect_evidence(events).tests == tests


def test_chunks_are_rebuilt_from_events_as_the_agent_recorded_them():
    events = [
        ("command", {"chunk_id": "a", "command": "pytest -q", "cwd": "/workspace"}),
        ("output", {"chunk_id": "a", "text": "10%\r50"}),
        ("message", {"text": "not a chunk"}),
        ("output", {"chunk_id": "a", "text": "%\r\n1 failed\n"}),
        ("command_end", {"chunk_id": "a", "exit_code": 1, "timed_out": False}),
        ("command", {"chunk_id": "b", "command": "sleep 99"}),
        ("command_end", {"chunk_id": "b", "exit_code": None, "timed_out": True}),
        ("output", {"chunk_id": "c", "text": "orphan"}),
        ("output", "not a payload"),
    ]
    chunks = chunks_from_events(events)
    assert list(chunks) == ["a", "b", "c"]
    a = chunks["a"]
    assert (a.command, a.cwd, a.output, a.exit_code) == ("pytest -q", "/workspace",
                                                         "10%\r50%\r\n1 failed\n", 1)
    # Lines numbered as the agent's validator counts them ("\r" alone ends a line too).
    assert a.lines == ["10%", "50%", "1 failed"]
    assert chunks["b"].timed_out and chunks["b"].exit_code is None and chunks["b"].lines == []
    assert (chunks["c"].command, chunks["c"].output) == ("", "orphan")


def git_patch(tmp_path, change) -> str:
    """The patch of `change` (a function of the work tree) as the attempt's is taken: without
    rename detection, binary-safe, full blob ids (tasks/agent/collect.py)."""
    import subprocess

    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.test"]
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "notes.md").write_text("# notes\n")
    (tmp_path / "empty_old").write_text("")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=tmp_path, check=True)
    change(tmp_path)
    subprocess.run([*git, "add", "-A"], cwd=tmp_path, check=True)
    return subprocess.run(
        ["git", "diff", "--cached", "--no-renames", "--binary", "--full-index"],
        cwd=tmp_path, check=True, capture_output=True, text=True,
    ).stdout


def test_a_file_moved_unchanged_names_its_other_side(tmp_path):
    """Removed + added with the same content reads as a move (each side names the other); a
    move with an edit, and two empty files, are left as they are. Nothing else changes: the
    files, their hunks (pickable by index) and the counts are the patch's."""

    def change(tree):
        (tree / "calc.py").rename(tree / "arith.py")  # moved unchanged
        (tree / "notes.md").rename(tree / "NOTES.md")
        (tree / "NOTES.md").write_text("# notes\nmore\n")  # moved and edited
        (tree / "empty_old").unlink()
        (tree / "empty_new").write_text("")

    view = diff_view(git_patch(tmp_path, change))

    by_path = {f.path: f for f in view.files}
    assert (by_path["calc.py"].moved_to, by_path["arith.py"].moved_from) == ("arith.py", "calc.py")
    assert by_path["calc.py"].status == "removed" and by_path["arith.py"].status == "added"
    assert len(by_path["calc.py"].hunks) == len(by_path["arith.py"].hunks) == 1
    for other in ("notes.md", "NOTES.md", "empty_old", "empty_new"):
        assert (by_path[other].moved_to, by_path[other].moved_from) == ("", ""), other
    assert (view.added, view.removed) == (4, 3)
