"""Citations in a final message: `【F:path†L10-L24】` (file lines in the final tree) and
`【T:chunk-id†L3-L9】` (lines of a recorded terminal chunk).

`check_citations` parses every citation, checks that what it points at exists, and flags a
claim that tests pass without a cited test run, or citing a run that failed. Invalid
citations are kept and marked.

This is the only checker: the worker runs it once against the final tree and stores the verdicts
(`Citation.to_dict()`) in the "summary" event; the task page and the pull request body show those
stored verdicts (tasks/recorded.py) and never check again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from tasks.agent.patch import PatchError, check_path
from tasks.agent.records import Citation, TerminalChunk

CITATION = re.compile(
    r"【\s*(?P<kind>[FT])\s*:\s*(?P<target>[^†】\n]+?)\s*†\s*L(?P<start>\d+)"
    r"(?:\s*[-–]\s*L?(?P<end>\d+))?\s*】"
)

# What makes a command's exit code another command's: a pipe (`pytest | tail -5` exits with
# tail's code), `;` or another line (`pytest; echo done`), `||` (`pytest || true`), a background
# `&`; not `&&`, nor a redirection (`2>&1`, `&>`). After a test run, exit 0 then says nothing
# about the tests (tasks/rendering/evidence.py: the tab's "tests ran"; static/js/live/terminal.js).
STATUS_ELSEWHERE = re.compile(r"(?<!\|)\|(?!\|)|\|\||;|(?<![&<>])&(?![&>])|\n")
# The summary line a test runner prints when tests failed: unittest, pytest, go, cargo, jest.
FAILURES_REPORTED = re.compile(
    r"\bFAILED \((?:failures|errors)=\d|\b\d+ failed\b|^--- FAIL:|^FAIL\b|"
    r"test result: FAILED|^Tests:.*\b\d+ failed",
    re.MULTILINE,
)
TESTS_PASS_CLAIM = re.compile(
    r"\b(?:tests?|test suite|specs?|checks?)\s+(?:now\s+|all\s+|still\s+)?"
    r"(?:pass(?:es|ed|ing)?|succeed(?:s|ed)?|(?:are|is)\s+(?:now\s+)?(?:passing|green))\b"
    r"|\bpassing\s+tests?\b|\ball\s+green\b",
    re.IGNORECASE,
)

FileReader = Callable[[str], "str | None"]
# The number of lines of a file in the final tree, None when it does not exist there.
LineCounter = Callable[[str], "int | None"]


@dataclass
class CitationReport:
    citations: list[Citation] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    @property
    def valid(self) -> list[Citation]:
        return [c for c in self.citations if c.valid]


def parse_citations(text: str) -> list[Citation]:
    """Every citation in `text`, in order, not yet validated."""
    found = []
    for match in CITATION.finditer(text):
        start = int(match["start"])
        end = int(match["end"]) if match["end"] else start
        kind: Literal["F", "T"] = "F" if match["kind"] == "F" else "T"
        found.append(Citation(match.group(0), kind, match["target"].strip(), start, end))
    return found


def normalize_file_target(target: str) -> str:
    """A cited path relative to the repository root; raises PatchError if it leaves it."""
    path = target.strip()
    for prefix in ("/workspace/", "./"):
        if path.startswith(prefix):
            path = path[len(prefix):]
    return check_path(path)


def check_citations(
    text: str,
    *,
    read_file: FileReader | None = None,
    count_lines: LineCounter | None = None,
    chunks: Mapping[str, TerminalChunk],
    earlier: Mapping[str, TerminalChunk] | None = None,
) -> CitationReport:
    """Validate every citation in `text` and flag uncited "tests pass" claims.

    `read_file(path)` returns the file's text in the final tree or None when it does not exist
    (or `count_lines(path)` its number of lines: all the check needs, e.g. from
    tasks/agent/tree_exec.py's one read); `chunks` are the attempt's recorded terminal chunks by
    id, `earlier` those of the attempts a follow-up continues (its model saw their ids): citable,
    but a "tests pass" claim resting on them alone is flagged, as they ran before this attempt's
    changes. Never raises for bad citations.
    """
    earlier = earlier or {}
    if count_lines is None:
        if read_file is None:
            raise TypeError("check_citations needs read_file or count_lines")
        count_lines = line_counter(read_file)
    report = CitationReport(parse_citations(text))
    file_cache: dict[str, int | None] = {}
    for citation in report.citations:
        if citation.start < 1 or citation.end < citation.start:
            citation.reason = f"L{citation.start}-L{citation.end} is not a valid line range"
            continue
        if citation.kind == "F":
            _check_file(citation, count_lines, file_cache)
        else:
            _check_chunk(citation, chunks, earlier)
    report.flags.extend(_test_claim_flags(text, report.citations, chunks, earlier))
    if text.strip() and not report.citations:
        report.flags.append("The answer cites no evidence (no file or terminal citations).")
    return report


def cited_file_paths(text: str) -> list[str]:
    """The repository paths the file citations in `text` name, in order, each once (a path
    that would leave the repository is left out: its citation is invalid without a read)."""
    paths = []
    for citation in parse_citations(text):
        if citation.kind != "F":
            continue
        try:
            paths.append(normalize_file_target(citation.target))
        except PatchError:
            continue
    return list(dict.fromkeys(paths))


def line_counter(read_file: FileReader) -> LineCounter:
    """Line counts from a reader of file text (None: not a file of the tree)."""
    def count(path: str) -> int | None:
        content = read_file(path)
        return None if content is None else len(content.splitlines())

    return count


def _check_file(
    citation: Citation, count_lines: LineCounter, cache: dict[str, int | None]
) -> None:
    try:
        path = normalize_file_target(citation.target)
    except PatchError as exc:
        citation.reason = str(exc)
        return
    citation.target = path
    if path not in cache:
        try:
            cache[path] = count_lines(path)
        except Exception as exc:  # a sandbox error must not lose the other citations
            cache[path] = None
            citation.reason = f"could not read {path}: {exc}"
            return
    count = cache[path]
    if count is None:
        citation.reason = f"{path} does not exist in the final tree"
        return
    if citation.end > count:
        citation.reason = f"{path} has {count} lines; L{citation.end} is past the end"
        return
    citation.valid = True


def _check_chunk(citation: Citation, chunks: Mapping[str, TerminalChunk],
                 earlier: Mapping[str, TerminalChunk]) -> None:
    chunk = chunks.get(citation.target) or earlier.get(citation.target)
    if chunk is None:
        citation.reason = f"no terminal chunk with id {citation.target!r} was recorded"
        return
    count = len(chunk.lines)
    if citation.end > count:
        citation.reason = (
            f"chunk {chunk.chunk_id} has {count} lines; L{citation.end} is past the end"
        )
        return
    citation.valid = True


def _test_claim_flags(
    text: str, citations: list[Citation], own: Mapping[str, TerminalChunk],
    earlier: Mapping[str, TerminalChunk],
) -> list[str]:
    """A paragraph that says tests pass must cite a terminal chunk of this attempt, and that run
    must be green."""
    chunks = {**earlier, **own}
    flags = []
    for paragraph in re.split(r"\n\s*\n|\n(?=\s*(?:[-*+]|\d+\.)\s)", text):
        claim = TESTS_PASS_CLAIM.search(paragraph)
        if not claim:
            continue
        quote = _sentence_around(paragraph, claim.start())
        cited = [
            c for c in citations if c.kind == "T" and c.valid and c.raw in paragraph
        ]
        if not cited:
            flags.append(f"Claims tests pass without citing a test run: “{quote}”")
            continue
        if not any(c.target in own for c in cited):
            flags.append("Claims tests pass citing only an earlier attempt's run, from before "
                         f"this attempt's changes: “{quote}”")
            continue
        failing = [
            chunks[c.target] for c in cited
            if chunks[c.target].exit_code not in (0, None) or chunks[c.target].timed_out
        ]
        if failing and len(failing) == len(cited):
            flags.append(
                f"Claims tests pass but the cited run exited with {failing[0].exit_code}: "
                f"“{quote}”"
            )
        elif all(_piped_failure(chunks[c.target]) for c in cited):
            flags.append(
                "Claims tests pass but the cited run reports failures (its exit code 0 is "
                f"another command's, not the tests'): “{quote}”"
            )
    return flags


def _piped_failure(chunk: TerminalChunk) -> bool:
    """A run whose exit code 0 may be another command's, while its output reports failed tests."""
    return (chunk.exit_code == 0 and STATUS_ELSEWHERE.search(chunk.command) is not None
            and FAILURES_REPORTED.search(chunk.output) is not None)


def _sentence_around(paragraph: str, at: int) -> str:
    dot, newline = paragraph.rfind(". ", 0, at), paragraph.rfind("\n", 0, at)
    start = max(dot + 2 if dot != -1 else 0, newline + 1)
    ends = [i for i in (paragraph.find(". ", at), paragraph.find("\n", at)) if i != -1]
    end = min(ends) + 1 if ends else len(paragraph)
    sentence = CITATION.sub("", paragraph[start:end])
    sentence = re.sub(r"\s+([.,;:])", r"\1", re.sub(r"\s+", " ", sentence)).strip()
    return sentence[:200]
