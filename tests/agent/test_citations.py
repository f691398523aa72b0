"""Citations: parsed, checked against the final tree and the recorded terminal chunks."""

from __future__ import annotations

import json

import pytest

from tasks.agent.citations import check_citations, parse_citations
from tasks.agent.records import Citation, TerminalChunk

TREE = {"src/calc.py": "".join(f"line {i}\n" for i in range(1, 31)), "README.md": "hi\n"}
CHUNKS = {
    "7f3a2c": TerminalChunk("7f3a2c", "pytest -q", "/workspace", "...\n3 passed in 0.1s\n", 0),
    "b0b0b0": TerminalChunk("b0b0b0", "pytest -q", "/workspace", "F\n1 failed\n", 1),
}


def check(text: str):
    return check_citations(text, read_file=TREE.get, chunks=CHUNKS)


def test_parses_file_and_terminal_citations():
    found = parse_citations("See 【F:src/calc.py†L10-L24】 and 【T:7f3a2c†L2】.")
    assert [(c.kind, c.target, c.start, c.end) for c in found] == [
        ("F", "src/calc.py", 10, 24),
        ("T", "7f3a2c", 2, 2),
    ]


def test_valid_citations_are_marked_valid():
    report = check("Adds 【F:src/calc.py†L1-L30】; tests pass 【T:7f3a2c†L1-L2】.")
    assert [c.valid for c in report.citations] == [True, True]
    assert report.flags == []


def test_workspace_prefix_is_accepted_and_normalized():
    report = check("【F:/workspace/README.md†L1】")
    assert report.citations[0].valid
    assert report.citations[0].target == "README.md"


def test_lines_past_the_end_of_a_file_are_invalid():
    citation = check("【F:src/calc.py†L25-L31】").citations[0]
    assert not citation.valid
    assert citation.reason == "src/calc.py has 30 lines; L31 is past the end"


def test_missing_file_is_invalid():
    citation = check("【F:src/nope.py†L1】").citations[0]
    assert not citation.valid
    assert "does not exist in the final tree" in citation.reason


def test_path_escape_in_a_citation_is_invalid_and_not_read():
    read: list[str] = []
    report = check_citations(
        "【F:../etc/passwd†L1】", read_file=lambda p: read.append(p), chunks=CHUNKS
    )
    assert not report.citations[0].valid
    assert "'..'" in report.citations[0].reason
    assert read == []


def test_unknown_chunk_and_lines_past_a_chunk_are_invalid():
    report = check("【T:ffffff†L1】 【T:7f3a2c†L2-L9】")
    assert [c.valid for c in report.citations] == [False, False]
    assert "no terminal chunk" in report.citations[0].reason
    assert report.citations[1].reason == "chunk 7f3a2c has 2 lines; L9 is past the end"


def test_reversed_range_is_invalid():
    citation = check("【F:README.md†L3-L1】").citations[0]
    assert not citation.valid
    assert "not a valid line range" in citation.reason


def test_tests_pass_claim_without_a_cited_run_is_flagged():
    report = check("Fixed the sign in 【F:src/calc.py†L2】.\n\nAll tests pass now.")
    assert report.flags == ["Claims tests pass without citing a test run: “All tests pass now.”"]


def test_tests_pass_claim_citing_an_invalid_chunk_is_flagged():
    report = check("The tests pass 【T:nope†L1】.")
    assert len(report.flags) == 1 and report.flags[0].startswith("Claims tests pass without")


def test_tests_pass_claim_citing_a_failing_run_is_flagged():
    report = check("The test suite passes 【T:b0b0b0†L1-L2】.")
    assert report.flags == [
        "Claims tests pass but the cited run exited with 1: “The test suite passes.”"
    ]


PIPED_FAILED = TerminalChunk(
    "c0c0c0", "python3 -m unittest tests.test_recipes 2>&1 | tail -4", "/workspace",
    "------\nRan 176 tests in 0.6s\n\nFAILED (failures=1, skipped=1)\n", 0)
PIPED_OK = TerminalChunk("d0d0d0", "pytest -q | tail -3", "/workspace", "3 passed in 0.1s\n", 0)
ECHOED_FAILED = TerminalChunk(
    "e0e0e0", "pytest -q; echo done", "/workspace", "1 failed, 2 passed in 0.1s\ndone\n", 0)


@pytest.mark.parametrize(
    ("chunk", "flagged"), [(PIPED_FAILED, True), (PIPED_OK, False), (ECHOED_FAILED, True)]
)
def test_tests_pass_claim_citing_a_piped_run_that_reports_failures_is_flagged(chunk, flagged):
    # A real walkthrough: the pipe's exit code 0 is tail's, the output says FAILED.
    report = check_citations(f"The recipes' tests pass 【T:{chunk.chunk_id}†L1】.",
                             read_file=TREE.get, chunks={chunk.chunk_id: chunk})
    assert report.flags == ([
        "Claims tests pass but the cited run reports failures (its exit code 0 is another "
        "command's, not the tests'): “The recipes' tests pass.”"
    ] if flagged else [])


def test_claim_in_one_list_item_needs_its_own_citation():
    text = "- Ran the suite 【T:7f3a2c†L2】\n- tests are passing"
    assert len(check(text).flags) == 1


def test_no_citations_at_all_is_flagged():
    assert check("It works.").flags == [
        "The answer cites no evidence (no file or terminal citations)."
    ]


def test_a_reader_error_marks_that_citation_only():
    def read(path):
        raise OSError("boom")

    report = check_citations("【F:a.py†L1】 【T:7f3a2c†L1】", read_file=read, chunks=CHUNKS)
    assert [c.valid for c in report.citations] == [False, True]
    assert "could not read a.py: boom" in report.citations[0].reason


def test_a_stored_verdict_reads_back_as_the_same_citation():
    """The worker stores `to_dict()` in the summary event; the page and the PR read it back."""
    report = check("【F:./src/calc.py†L2-L3】 【T:nope†L1】")
    stored = json.loads(json.dumps([c.to_dict() for c in report.citations]))  # as JSONB keeps it
    assert [Citation.from_dict(item) for item in stored] == report.citations
    for bad in ("junk", {"kind": "X", "valid": True, "start": 1, "end": 1},
                {"kind": "F", "valid": 1, "start": 1, "end": 1},
                {"kind": "F", "valid": True, "start": "1", "end": 1}):
        with pytest.raises(ValueError):
            Citation.from_dict(bad)


EARLIER = {"e1e1e1": TerminalChunk("e1e1e1", "pytest -q", "/workspace", "3 passed in 0.1s\n", 0)}


def test_a_follow_up_may_cite_the_chunks_of_the_attempt_it_continues():
    report = check_citations("Before, `pytest -q` printed 【T:e1e1e1†L1】.", read_file=TREE.get,
                             chunks=CHUNKS, earlier=EARLIER)
    assert [c.valid for c in report.citations] == [True]
    unknown = check_citations("【T:e1e1e1†L1】", read_file=TREE.get, chunks=CHUNKS)
    assert [c.valid for c in unknown.citations] == [False]  # not without `earlier`


def test_tests_pass_resting_only_on_an_earlier_attempts_run_is_flagged():
    stale = check_citations("The tests pass 【T:e1e1e1†L1】.", read_file=TREE.get,
                            chunks=CHUNKS, earlier=EARLIER)
    assert stale.flags == ["Claims tests pass citing only an earlier attempt's run, from "
                           "before this attempt's changes: “The tests pass.”"]
    both = check_citations("The tests pass 【T:e1e1e1†L1】 【T:7f3a2c†L2】.", read_file=TREE.get,
                           chunks=CHUNKS, earlier=EARLIER)
    assert both.flags == []
