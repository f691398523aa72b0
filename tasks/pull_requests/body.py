"""The text of a pull request made from an attempt: title, branch name, commit message, body.

Pure functions. In the body, file citations `【F:path†L3-L9】` become links to those lines on the
pushed commit, and terminal citations `【T:chunk†L3-L9】` become references to a "Test evidence"
section that quotes the cited lines of the recorded output.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from urllib.parse import quote

from django.utils.text import slugify

from repos.git.refnames import is_valid_branch_name
from tasks.agent.citations import CITATION

TITLE_LIMIT = 72
EVIDENCE_LINE_LIMIT = 60


def pull_title(prompt: str) -> str:
    """The first line of the prompt, shortened to fit a commit subject."""
    first = next((line.strip() for line in prompt.splitlines() if line.strip()), "") or "Change"
    return first if len(first) <= TITLE_LIMIT else first[: TITLE_LIMIT - 1].rstrip() + "…"


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


def pull_body(*, summary: str, blob_base: str, chunks: Mapping[str, str],
              commands: Mapping[str, str], task_url: str = "") -> str:
    """Markdown body: the summary with linked citations, then the quoted test evidence.

    `blob_base` is `<web>/<owner>/<repo>/blob/<sha>`; `chunks` maps terminal chunk ids to their
    recorded output and `commands` to the command that produced it.
    """
    evidence: list[tuple[str, int, int]] = []

    def replace(match) -> str:
        kind, target = match.group("kind"), match.group("target").strip()
        start = int(match.group("start"))
        end = int(match.group("end") or start)
        if kind == "F":
            path = target.lstrip("./")
            anchor = f"L{start}" if start == end else f"L{start}-L{end}"
            return f"[{path}#{anchor}]({blob_base}/{quote(path)}#{anchor})"
        if target not in chunks:
            return f"(terminal output {target}, lines {start}–{end}: not recorded)"
        evidence.append((target, start, end))
        return f"[terminal {target} L{start}–{end}](#evidence-{len(evidence)})"

    text = CITATION.sub(replace, summary.strip() or "(The agent left no summary.)")
    sections = ["## Summary", text]
    if evidence:
        sections.append("## Test evidence")
        for number, (chunk_id, start, end) in enumerate(evidence, 1):
            lines = chunks[chunk_id].splitlines()[start - 1 : end][:EVIDENCE_LINE_LIMIT]
            command = commands.get(chunk_id, "")
            heading = f'<a id="evidence-{number}"></a>**{number}.** '
            heading += f"`{command}` " if command else ""
            heading += f"(output {chunk_id}, lines {start}–{end})"
            fence = "````" if any("```" in line for line in lines) else "```"
            sections.append(f"{heading}\n\n{fence}text\n" + "\n".join(lines) + f"\n{fence}")
    footer = "Opened by codexweb from an agent attempt"
    sections.append(f"---\n{footer}" + (f": {task_url}" if task_url else "."))
    return "\n\n".join(sections) + "\n"
