"""A Review task's findings block, parsed strictly (tasks/agent/findings.py): well-formed findings
keep their checked citations; anything else is kept as text with the reason, never raised."""

from __future__ import annotations

import json

from tasks.agent.findings import Finding, parse_findings, stored_findings
from tasks.agent.records import TerminalChunk

TREE = {"calc.py": "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a + b\n"}
CHUNKS = {"c1": TerminalChunk("c1", "python3 -m unittest", "/workspace", "F\nFAILED (failures=1)\n",
                              exit_code=1)}


def parse(text: str):
    return parse_findings(text, read_file=TREE.get, chunks=CHUNKS)


def answer(items, before: str = "Two problems; the tests fail 【T:c1†L2】.") -> str:
    return f"{before}\n\n```findings\n{json.dumps(items, ensure_ascii=False)}\n```\n"


MUL = {"file": "calc.py", "line": 6, "severity": "blocker",
       "explanation": "`mul` adds instead of multiplying 【F:calc.py†L5-L6】."}


def test_a_well_formed_finding_keeps_its_checked_citations_and_leaves_the_summary():
    report = parse(answer([MUL]))

    assert report.summary == "Two problems; the tests fail 【T:c1†L2】."
    assert report.malformed == []
    (finding,) = report.findings
    assert (finding.file, finding.line, finding.severity) == ("calc.py", 6, "blocker")
    (citation,) = finding.citations
    assert (citation.target, citation.start, citation.end, citation.valid) == ("calc.py", 5, 6,
                                                                               True)
    assert Finding.from_dict(json.loads(json.dumps(finding.to_dict()))) == finding


def test_an_invalid_citation_is_kept_with_the_workers_verdict():
    item = {**MUL, "explanation": "See 【F:calc.py†L40】 and 【T:nope†L1】."}
    (finding,) = parse(answer([item])).findings
    assert [c.valid for c in finding.citations] == [False, False]
    assert "has 6 lines" in finding.citations[0].reason
    assert "no terminal chunk" in finding.citations[1].reason


def test_malformed_findings_are_kept_as_text_with_the_reason():
    items = [
        MUL,
        {**MUL, "severity": "catastrophic"},
        {**MUL, "line": "six"},
        {**MUL, "line": True},
        {"file": "calc.py", "severity": "nit", "explanation": "no line 【F:calc.py†L1】"},
        {**MUL, "explanation": "No evidence at all."},
        {**MUL, "file": "gone.py"},
        {**MUL, "line": 60},
        {**MUL, "file": "../etc/passwd"},
        "just a sentence",
    ]
    report = parse(answer(items))

    assert len(report.findings) == 1
    problems = [m.problem for m in report.malformed]
    assert len(problems) == 9
    assert "severity" in problems[0]
    assert "line" in problems[1] and "line" in problems[2] and "line" in problems[3]
    assert problems[4] == ("A finding must cite its evidence (【F:path†L1】 or 【T:chunk†L1】).")
    assert problems[5] == "gone.py does not exist in the reviewed version."
    assert problems[6] == "calc.py has 6 lines; line 60 is past the end."
    assert problems[7].startswith("The file is not a path in the repository")
    assert problems[8].startswith("Not a finding")
    assert '"catastrophic"' in report.malformed[0].text  # the model's own words are kept


def test_a_block_that_is_not_json_or_missing_is_reported_not_raised():
    broken = parse("Looks fine.\n\n```findings\n[{file: calc.py}]\n```")
    assert broken.summary == "Looks fine." and broken.findings == []
    (m,) = broken.malformed
    assert m.problem.startswith("The block is not JSON") and m.text == "[{file: calc.py}]"

    missing = parse("Looks fine to me.")
    assert missing.summary == "Looks fine to me." and missing.findings == []
    assert missing.malformed[0].problem.startswith("The answer has no ```findings block")

    not_a_list = parse('```findings\n{"file": "calc.py"}\n```')
    assert not_a_list.malformed[0].problem == "The block is not a JSON list."


def test_an_empty_list_means_no_findings():
    report = parse(answer([], before="Nothing to add."))
    assert report.findings == [] and report.malformed == []


def test_stored_rows_that_are_not_findings_become_malformed_not_errors():
    good = parse(answer([MUL])).findings[0].to_dict()
    findings, malformed = stored_findings(
        {"findings": [good, {"severity": "nit"}], "malformed": [{"text": "x", "problem": "y"}]})
    assert [f.line for f in findings] == [6]
    assert [m.problem for m in malformed][1] == "y" and len(malformed) == 2
