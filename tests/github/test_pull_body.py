"""The text of a pull request: pure functions, no GitHub needed."""

from __future__ import annotations

import re

from repos.git.refnames import is_valid_branch_name
from tasks.agent.citations import check_citations
from tasks.agent.records import Citation, TerminalChunk
from tasks.pull_requests.body import branch_name, commit_message, pull_body
from tasks.recorded import stored_citations

BLOB = "https://github.com/acme/webapp/blob/abc123"


def test_branch_name_is_stable_per_attempt_and_valid():
    first = branch_name("Fix: the *login* bug..", 7)
    assert first == branch_name("Fix: the *login* bug..", 7)
    assert first != branch_name("Fix: the *login* bug..", 8)
    assert re.fullmatch(r"codex/fix-the-login-bug-[0-9a-f]{8}", first)
    assert is_valid_branch_name(first)
    assert re.fullmatch(r"codex/change-[0-9a-f]{8}", branch_name("???", 1))


def test_commit_message_has_the_co_author_trailer_last():
    message = commit_message("Fix it", "Fix it\n\nDetails here.", "Bot <bot@example.test>")
    assert message == "Fix it\n\nDetails here.\n\nCo-authored-by: Bot <bot@example.test>\n"
    short = commit_message("Fix it", "Fix it", "Bot <bot@example.test>")
    assert short == "Fix it\n\nCo-authored-by: Bot <bot@example.test>\n"


def verdicts(text: str, tree=None, chunks=None) -> list:
    """The worker's stored verdicts on `text` (tasks/agent/loop.py), read back as the PR does."""
    report = check_citations(text, read_file=(tree or {}).get, chunks=chunks or {})
    return stored_citations({"citations": [c.to_dict() for c in report.citations]})


def test_file_citations_link_to_lines_on_the_pushed_commit():
    summary = "See 【F:src/app.py†L10-L24】 and 【F:./README.md†L3】."
    tree = {"src/app.py": "x\n" * 30, "README.md": "# r\n\nthird\n"}
    body = pull_body(summary=summary, blob_base=BLOB, chunks={},
                     citations=verdicts(summary, tree))
    assert f"[src/app.py#L10-L24]({BLOB}/src/app.py#L10-L24)" in body
    assert f"[README.md#L3]({BLOB}/README.md#L3)" in body
    assert "Test evidence" not in body


def test_terminal_citations_quote_the_evidence():
    chunks = {"7f3a2c": TerminalChunk("7f3a2c", "pytest -q", "/workspace",
                                      "collecting\n3 passed\nwarnings: 0\nbye\n", 0)}
    summary = "Tests pass 【T:7f3a2c†L2-L3】."
    body = pull_body(summary=summary, blob_base=BLOB, chunks=chunks,
                     citations=verdicts(summary, chunks=chunks),
                     task_url="https://codex.example/tasks/5/")
    assert "[terminal 7f3a2c L2–3](#evidence-1)" in body
    evidence = body.split("## Test evidence", 1)[1]
    assert "`pytest -q`" in evidence
    assert "```text\n3 passed\nwarnings: 0\n```" in evidence
    assert "collecting" not in evidence and "bye" not in evidence
    assert body.rstrip().endswith("https://codex.example/tasks/5/")


def test_invalid_citations_are_marked_and_fences_are_not_broken():
    chunks = {"abc": TerminalChunk("abc", "", "", "```oops```\n", 0)}
    summary = "【T:nope†L1】 【T:abc†L1】 【F:app.py†L9】"
    body = pull_body(summary=summary, blob_base=BLOB, chunks=chunks,
                     citations=verdicts(summary, {"app.py": "one line\n"}, chunks))
    assert "⚠ nope L1 (invalid citation: no terminal chunk with id 'nope' was recorded)" in body
    assert "⚠ app.py L9 (invalid citation: app.py has 1 lines; L9 is past the end)" in body
    assert "](" + BLOB not in body  # an invalid file citation is not linked
    assert "````text\n```oops```\n````" in body


def test_the_stored_verdict_is_used_not_checked_again():
    """The worker saw the final tree; the body follows its verdict, and a citation it never
    checked is shown as such rather than linked."""
    summary = "【F:gone.py†L5】 【F:kept.py†L1】 【T:abc†L1】"
    citations = [
        Citation("【F:gone.py†L5】", "F", "gone.py", 5, 5, valid=True),
        Citation("【T:abc†L1】", "T", "abc", 1, 1, valid=False, reason="the run was cut off"),
    ]
    chunks = {"abc": TerminalChunk("abc", "pytest", "", "1 passed\n", 0)}
    body = pull_body(summary=summary, blob_base=BLOB, chunks=chunks, citations=citations)
    assert f"[gone.py#L5]({BLOB}/gone.py#L5)" in body
    assert "kept.py L1 (citation not checked)" in body
    assert "⚠ abc L1 (invalid citation: the run was cut off)" in body
    assert "Test evidence" not in body


def test_empty_summary_still_makes_a_body():
    assert "(The agent left no summary.)" in pull_body(summary="", blob_base=BLOB, chunks={},
                                                      citations=[])
