"""The GitHub review made from a Review attempt's findings (pure).

A finding whose line the reviewed diff shows on its new side becomes a line comment; GitHub
refuses a comment anywhere else, so those findings go into the review's body instead, as do the
malformed ones (marked). Citations are shown by the worker's stored verdicts: a valid file
citation links to those lines on the reviewed commit, an invalid one says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from unidiff.errors import UnidiffParseError

from repos.github.client import ReviewLineComment
from tasks.agent.citations import CITATION
from tasks.agent.findings import Finding, MalformedFinding
from tasks.agent.records import Citation
from tasks.rendering.diff import clean_path, parse_patch

SEVERITY_MARK = {"blocker": "🛑 blocker", "major": "❗ major", "minor": "minor", "nit": "nit"}


@dataclass(frozen=True)
class ReviewDraft:
    body: str
    comments: list[ReviewLineComment]
    outside: int  # findings put in the body because the diff does not show their line


def commentable_lines(diff: str) -> dict[str, set[int]]:
    """Per file, the new-version line numbers the diff shows (added or context lines): the
    lines GitHub accepts a RIGHT-side review comment on."""
    if not diff.strip():
        return {}
    try:
        patch = parse_patch(diff)
    except UnidiffParseError:
        return {}
    lines: dict[str, set[int]] = {}
    for patched in patch:
        if patched.is_removed_file:
            continue
        shown = lines.setdefault(clean_path(patched.target_file), set())
        for hunk in patched:
            shown.update(line.target_line_no for line in hunk
                         if line.target_line_no is not None and not line.is_removed)
    return lines


def cited_markdown(text: str, citations: Sequence[Citation], blob_base: str) -> str:
    """`text` with each citation shown by its stored verdict."""
    verdicts = {c.raw: c for c in citations}

    def replace(match) -> str:
        c = verdicts.get(match.group(0))
        if c is None:
            return f"{match.group('target').strip()} L{match.group('start')} (not checked)"
        lines = f"L{c.start}" if c.start == c.end else f"L{c.start}-L{c.end}"
        if not c.valid:
            return f"⚠ {c.target} {lines} (invalid citation: {c.reason or 'no such evidence'})"
        if c.kind == "F" and blob_base:
            return f"[{c.target}#{lines}]({blob_base}/{quote(c.target)}#{lines})"
        return f"`{c.target}` {lines}" if c.kind == "F" else f"(terminal output {c.target} {lines})"

    return CITATION.sub(replace, text)


def finding_markdown(finding: Finding, blob_base: str) -> str:
    mark = SEVERITY_MARK.get(finding.severity, finding.severity)
    return f"**{mark}**: {cited_markdown(finding.explanation, finding.citations, blob_base)}"


def review_draft(*, summary: str, findings: Sequence[Finding],
                 malformed: Sequence[MalformedFinding], diff: str, blob_base: str,
                 task_url: str = "") -> ReviewDraft:
    """The body and line comments of the review."""
    shown = commentable_lines(diff)
    comments, outside = [], []
    for finding in findings:
        if finding.line in shown.get(finding.file, set()):
            comments.append(ReviewLineComment(path=finding.file, line=finding.line,
                                              body=finding_markdown(finding, blob_base)))
        else:
            outside.append(finding)
    sections = [summary.strip() or "(The agent left no overall assessment.)"]
    if not findings:
        sections.append("No findings.")
    if outside:
        sections.append("### Findings on lines outside the diff\n" + "\n".join(
            f"- `{f.file}` line {f.line}: {finding_markdown(f, blob_base)}" for f in outside))
    if malformed:
        sections.append("### ⚠ Findings that could not be read\n" + "\n".join(
            f"- {m.problem}" + (f"\n  > {m.text[:500]}" if m.text else "") for m in malformed))
    footer = "Review by the codexweb agent"
    sections.append(f"---\n{footer}" + (f": {task_url}" if task_url else "."))
    return ReviewDraft(body="\n\n".join(sections) + "\n", comments=comments,
                       outside=len(outside))
