"""A task's title: the first non-blank line of its prompt, shortened to fit a git commit subject.

One rule for every place a task is named (the page, the history, the API, the pull request), so
the sidebar shows what the PR will be called. Pure: no Django.
"""

from __future__ import annotations

TITLE_LIMIT = 72  # characters, the ellipsis included: the usual limit of a commit subject


def task_title(prompt: str) -> str:
    """The first non-blank line of `prompt`, stripped; "" for a blank prompt."""
    first = next((line.strip() for line in prompt.splitlines() if line.strip()), "")
    return first if len(first) <= TITLE_LIMIT else first[: TITLE_LIMIT - 1].rstrip() + "…"
