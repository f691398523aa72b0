"""The title of a pull request, from the change itself rather than from the prompt.

Django-free. The agent gives its own title as the first line of its final answer,
`Title: <imperative summary>` (tasks/agent/instructions.py asks for it). When that line is
missing or does not fit a commit subject, the summary's first sentence is used, and only when
there is no summary the prompt's first line. When the repository's recent commit subjects follow
Conventional Commits (`fix: …`, `feat(api): …`), the title gets a type prefix guessed from the
words and the changed files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tasks.agent.citations import CITATION

TITLE_LIMIT = 72
MIN_TITLE = 3

TITLE_LINE = re.compile(r"^\s*(?:[#*_>\s]*)title(?:\*\*|__)?\s*:\s*(?P<title>.*?)\s*$", re.I)
CONVENTIONAL = re.compile(
    r"^(?P<type>feat|fix|docs|style|refactor|perf|test|tests|build|ci|chore|revert)"
    r"(?:\([^()\n]{1,40}\))?!?: \S"
)
# Enough of the recent subjects must follow the convention before titles do.
CONVENTIONAL_MIN_SUBJECTS = 3
CONVENTIONAL_SHARE = 0.6

_FIX_WORDS = re.compile(r"\b(fix(?:es|ed)?|bug|crash(?:es)?|error|fail(?:s|ing|ure)?|broken|"
                        r"correct|repair|wrong|regression)\b", re.I)
_REFACTOR_WORDS = re.compile(r"\b(refactor|rename|extract|simplify|clean ?up|tidy|move)\b", re.I)
_CI_PATHS = (".github/workflows/", ".gitlab-ci.yml", ".circleci/", ".travis.yml",
             "azure-pipelines.yml", ".buildkite/", "Jenkinsfile", "bitbucket-pipelines.yml")


def split_title(final: str) -> tuple[str | None, str]:
    """(the agent's `Title:` line or None, the answer without that line).

    Only the first non-empty line counts, so a "title:" later in the text is left alone.
    """
    lines = final.splitlines()
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        match = TITLE_LINE.match(line)
        if match is None:
            return None, final
        title = match["title"].strip(" *_`")
        rest = "\n".join(lines[:index] + lines[index + 1 :]).strip("\n")
        return title or None, rest
    return None, final


def fits(title: str | None) -> bool:
    """A usable subject line: one line, 3 to 72 characters, no citation markup."""
    if not title:
        return False
    return (MIN_TITLE <= len(title) <= TITLE_LIMIT and "\n" not in title
            and CITATION.search(title) is None and "【" not in title)


def first_sentence(text: str) -> str:
    """The summary's first sentence, without citations, headings or list markers."""
    # A citation dropped before punctuation would leave "count ; the tests" in the title.
    plain = re.sub(r"[ \t]+(?=[,;:.!?])", "", CITATION.sub("", text))
    for raw in plain.splitlines():
        line = re.sub(r"^\s*(?:#+\s*|[-*+]\s+|\d+[.)]\s+|>\s*)", "", raw).strip()
        line = re.sub(r"\*\*|__", "", line).strip("*_ ")
        if not line or line.rstrip(":").lower() in {"summary", "testing", "changes"}:
            continue
        sentence = re.split(r"(?<=[.!?])\s", line, maxsplit=1)[0]
        return sentence.rstrip(".").strip().replace("`", "")
    return ""


def shorten(text: str, limit: int = TITLE_LIMIT) -> str:
    """`text` cut at a word boundary to at most `limit` characters, with an ellipsis if cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] if " " in text[: limit - 1] else text[: limit - 1]
    return cut.rstrip(" ,;:-") + "…"


def uses_conventional_commits(subjects: Sequence[str]) -> bool:
    """True when most recent non-merge subjects look like `type(scope): description`."""
    relevant = [s for s in subjects if s.strip() and not s.startswith(("Merge ", "Revert \""))]
    matching = sum(1 for s in relevant if CONVENTIONAL.match(s))
    return matching >= CONVENTIONAL_MIN_SUBJECTS and matching >= CONVENTIONAL_SHARE * len(relevant)


def conventional_type(title: str, files: Sequence[str]) -> str:
    """A Conventional Commits type for a change: from the files first, then the words."""
    if files and all(f.endswith((".md", ".rst", ".txt")) or f.startswith("docs/") for f in files):
        return "docs"
    if files and all(re.search(r"(^|/)(tests?|spec)(/|_)|_test\.|\.test\.|test_", f)
                     for f in files):
        return "test"
    if files and all(f.startswith(_CI_PATHS) or f in _CI_PATHS for f in files):
        return "ci"
    if _FIX_WORDS.search(title):
        return "fix"
    if _REFACTOR_WORDS.search(title):
        return "refactor"
    return "feat"


def as_conventional(title: str, files: Sequence[str]) -> str:
    """`title` with a type prefix (kept as is when it already has one)."""
    if CONVENTIONAL.match(title):
        return title
    kind = conventional_type(title, files)
    words = title.split(" ", 1)
    first = words[0]
    if first[:1].isupper() and not first[1:2].isupper():  # "Fix the…" → "fix the…", not "API"
        first = first[:1].lower() + first[1:]
    return f"{kind}: " + " ".join([first, *words[1:]])


def choose_title(*, final: str, prompt: str, files: Sequence[str] = (),
                 conventional: bool = False) -> str:
    """The pull request's title for an attempt whose final answer is `final`."""
    own, rest = split_title(final)
    title = own if fits(own) else ""
    if not title:
        title = shorten(first_sentence(rest)) if first_sentence(rest) else ""
    if not title or len(title) < MIN_TITLE:
        title = shorten(first_sentence(prompt) or "Change")
    if conventional:
        title = shorten(as_conventional(title, files))
    return title
