"""The text of a pull request: pure functions, no GitHub needed."""

from __future__ import annotations

import re

from repos.git.refnames import is_valid_branch_name
from tasks.pull_requests.body import branch_name, commit_message, pull_body, pull_title

BLOB = "https://github.com/acme/webapp/blob/abc123"


def test_title_is_the_first_line_and_short():
    assert pull_title("\n  Fix the login bug  \nmore detail") == "Fix the login bug"
    long = pull_title("x" * 200)
    assert len(long) == 72 and long.endswith("…")
    assert pull_title("   ") == "Change"


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


def test_file_citations_link_to_lines_on_the_pushed_commit():
    body = pull_body(summary="See 【F:src/app.py†L10-L24】 and 【F:./README.md†L3】.",
                     blob_base=BLOB, chunks={}, commands={})
    assert f"[src/app.py#L10-L24]({BLOB}/src/app.py#L10-L24)" in body
    assert f"[README.md#L3]({BLOB}/README.md#L3)" in body
    assert "Test evidence" not in body


def test_terminal_citations_quote_the_evidence():
    output = "collecting\n3 passed\nwarnings: 0\nbye\n"
    body = pull_body(summary="Tests pass 【T:7f3a2c†L2-L3】.", blob_base=BLOB,
                     chunks={"7f3a2c": output}, commands={"7f3a2c": "pytest -q"},
                     task_url="https://codex.example/tasks/5/")
    assert "[terminal 7f3a2c L2–3](#evidence-1)" in body
    evidence = body.split("## Test evidence", 1)[1]
    assert "`pytest -q`" in evidence
    assert "```text\n3 passed\nwarnings: 0\n```" in evidence
    assert "collecting" not in evidence and "bye" not in evidence
    assert body.rstrip().endswith("https://codex.example/tasks/5/")


def test_unknown_chunk_is_said_not_recorded_and_fences_are_not_broken():
    body = pull_body(summary="【T:nope†L1】 【T:abc†L1】", blob_base=BLOB,
                     chunks={"abc": "```oops```\n"}, commands={})
    assert "terminal output nope, lines 1–1: not recorded" in body
    assert "````text\n```oops```\n````" in body


def test_empty_summary_still_makes_a_body():
    assert "(The agent left no summary.)" in pull_body(summary="", blob_base=BLOB, chunks={},
                                                      commands={})
