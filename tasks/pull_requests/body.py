"""The text of a pull request made from an attempt: title, branch name, commit message, body.

Pure functions. In the body, citations are shown by the worker's stored verdict on them (they are
not checked again): a valid file citation `【F:path†L3-L9】` becomes a link to those lines on the
pushed commit, a valid terminal citation `【T:chunk†L3-L9】` a reference to a "Test evidence"
section that quotes the cited lines of the recorded output, an invalid one a marked reference
with the reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from urllib.parse import quote

from django.utils.text import slugify

from repos.git.refnames import is_valid_branch_name
from tasks.agent.citations import CITATION
from tasks.agent.records import Citation, TerminalChunk

EVIDENCE_LINE_LIMIT = 60


def branch_name(title: str, attempt_id: int) -> str:
    """`codex/<slug>-<short-id>`: stable for one attempt, so a retry reuses its branch."""
    slug = slugify(title)[:40].strip("-") or "change"
    short = hashlib.sha256(f"codexweb-attempt-{attempt_id}".encode()).hexdigest()[:8]
    name = f"codex/{slug}-{short}"
    return name if is_valid_branch_name(name) else f"codex/change-{short}"


def commit_message(title: str, prompt: str, co_author: str) -> str:
    """Subject = title, body = the rest of the prompt, then the co-author trailer."""
    lines = prompt.strip().splitlines()
    if lines and lines[0].strip() == title:
        lines = lines[1:]
    body = "\n".join(lines).strip()
    parts = [title]
    if body:
        parts.append(body)
    parts.append(f"Co-authored-by: {co_author}")
    return "\n\n".join(parts) + "\n"


def pull_body(*, summary: str, blob_base: str, chunks: Mapping[str, TerminalChunk],
              citations: Sequence[Citation], task_url: str = "", notices: Sequence[str] = (),
              after_summary: Sequence[str] = ()) -> str:
    """Markdown body: `notices` (warnings), the summary with its citations shown,
    `after_summary` (changes by file), then the quoted test evidence.

    `blob_base` is `<web>/<owner>/<repo>/blob/<sha>`; `chunks` are the attempt's recorded terminal
    chunks by id (tasks/recorded.py) and `citations` the worker's verdicts from the summary event.
    """
    verdicts = {c.raw: c for c in citations}
    evidence: list[tuple[TerminalChunk, int, int]] = []

    def replace(match) -> str:
        c = verdicts.get(match.group(0))
        if c is None:  # the worker stores a verdict for every citation of the summary it checked
            return f"{match.group('target').strip()} L{match.group('start')} (citation not checked)"
        lines = f"L{c.start}" if c.start == c.end else f"L{c.start}-L{c.end}"
        if not c.valid:
            return f"⚠ {c.target} {lines} (invalid citation: {c.reason or 'no such evidence'})"
        if c.kind == "F":
            return f"[{c.target}#{lines}]({blob_base}/{quote(c.target)}#{lines})"
        chunk = chunks.get(c.target)
        if chunk is None:
            return f"(terminal output {c.target}, lines {c.start}–{c.end}: not recorded)"
        evidence.append((chunk, c.start, c.end))
        return f"[terminal {c.target} L{c.start}–{c.end}](#evidence-{len(evidence)})"

    text = CITATION.sub(replace, summary.strip() or "(The agent left no summary.)")
    sections = [*notices, "## Summary", text, *after_summary]
    if evidence:
        sections.append("## Test evidence")
        for number, (chunk, start, end) in enumerate(evidence, 1):
            lines = chunk.lines[start - 1 : end][:EVIDENCE_LINE_LIMIT]
            heading = f'<a id="evidence-{number}"></a>**{number}.** '
            heading += f"`{chunk.command}` " if chunk.command else ""
            heading += f"(output {chunk.chunk_id}, lines {start}–{end})"
            fence = "````" if any("```" in line for line in lines) else "```"
            sections.append(f"{heading}\n\n{fence}text\n" + "\n".join(lines) + f"\n{fence}")
    footer = "Opened by codexweb from an agent attempt"
    sections.append(f"---\n{footer}" + (f": {task_url}" if task_url else "."))
    return "\n\n".join(sections) + "\n"
