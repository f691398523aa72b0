"""What a person types to say what to review: a pull request (`12`, `#12`, or its URL on this
repository) or a branch name. Pure; the composer, the API and the CLI share it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

PULL_NUMBER = re.compile(r"^#?(?P<n>[0-9]{1,9})$")
PULL_PATH = re.compile(r"^/(?P<owner>[^/]+)/(?P<name>[^/]+)/pull/(?P<n>[0-9]{1,9})(?:/.*)?$")


class TargetInputError(ValueError):
    """The text names no pull request or branch of this repository; the message says why."""


@dataclass(frozen=True)
class ReviewTargetInput:
    branch: str = ""
    pull_number: int | None = None


def parse_review_target(text: str, *, full_name: str) -> ReviewTargetInput:
    """A pull request number or URL (of `full_name`, "owner/name"), else a branch name."""
    text = text.strip()
    if not text:
        raise TargetInputError("Say what to review: a branch, or a pull request number or URL.")
    number = PULL_NUMBER.match(text)
    if number:
        return ReviewTargetInput(pull_number=int(number["n"]))
    if text.startswith(("https://", "http://")):
        match = PULL_PATH.match(urlsplit(text).path)
        if match is None:
            raise TargetInputError(f"{text} is not the address of a pull request.")
        if f"{match['owner']}/{match['name']}".lower() != full_name.lower():
            raise TargetInputError(f"{text} is a pull request of another repository than "
                                   f"{full_name}.")
        return ReviewTargetInput(pull_number=int(match["n"]))
    return ReviewTargetInput(branch=text)
