"""The comment a follow-up leaves on the pull request it updated: which attempt, what it was
asked, the new commit, and what this update changed (files and review flags of its own diff).

Django-free; services pass plain values (tasks/pull_requests/update.py).
"""

from __future__ import annotations

from tasks.pull_requests.review_flags import file_changes, review_flags
from tasks.pull_requests.sections import changes_section, flags_notice

INSTRUCTION_LIMIT = 600  # characters of the follow-up instruction quoted in the comment


def update_comment(*, attempt_index: int, parent_index: int, instruction: str, title: str,
                   commit_sha: str, commit_url: str, diff: str, task_url: str = "") -> str:
    """Markdown for the comment: `diff` is the update's own diff (the old head to the new)."""
    short = commit_sha[:7]
    lines = [f"**Updated by a follow-up:** attempt {attempt_index} continued attempt "
             f"{parent_index} and pushed [`{short}`]({commit_url}): {title}"]
    text = instruction.strip()
    if text:
        if len(text) > INSTRUCTION_LIMIT:
            text = text[:INSTRUCTION_LIMIT].rstrip() + " …"
        lines.append("\n".join(["The follow-up asked:", "",
                                *[f"> {line}" if line else ">" for line in text.splitlines()]]))
    changed = changes_section(file_changes(diff), heading="### What this update changed")
    lines.append(changed or "This update changed no files.")
    notice = flags_notice(review_flags(diff))
    if notice:
        lines.append(notice)
    lines.append("The description above now shows the follow-up's summary.")
    footer = "Updated by codexweb from an agent attempt"
    lines.append(f"---\n{footer}" + (f": {task_url}" if task_url else "."))
    return "\n\n".join(lines) + "\n"
