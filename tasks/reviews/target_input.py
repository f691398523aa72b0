"""What a person types to say what to review: a pull request (`12`, `#12`, `owner/name#12` or
its URL on this repository) or a branch name. The composer, the API and the CLI share it; the
pull request forms are the ones "start from a pull request" takes (repos/github/pull_refs.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from repos.github.pull_refs import PullReferenceError, pull_number_parse
from repos.models import Repository

# A number, `#N`, `owner/name#N` or an address: a pull request reference, never a branch name.
_LOOKS_LIKE_PULL = re.compile(r"^(#?\d{1,9}|[^\s/#]+/[^\s/#]+#\d{1,9}|https?://.*)$")


class TargetInputError(ValueError):
    """The text names no pull request or branch of this repository; the message says why."""


@dataclass(frozen=True)
class ReviewTargetInput:
    branch: str = ""
    pull_number: int | None = None


def parse_review_target(text: str, *, repository: Repository) -> ReviewTargetInput:
    """A pull request of `repository` (number, `#N`, `owner/name#N` or URL), else a branch."""
    text = text.strip()
    if not text:
        raise TargetInputError("Say what to review: a branch, or a pull request number or URL.")
    if not _LOOKS_LIKE_PULL.match(text):
        return ReviewTargetInput(branch=text)
    try:
        return ReviewTargetInput(pull_number=pull_number_parse(text, repository))
    except PullReferenceError as exc:
        raise TargetInputError(str(exc)) from exc
