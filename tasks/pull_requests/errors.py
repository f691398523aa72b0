"""The one error Create PR and Update PR raise for the person (kept apart so every module of the
package can raise it without importing the services)."""

from __future__ import annotations

CONFLICT = "conflict"


class PullRequestError(Exception):
    """The request cannot be made; the message says why, in words for the person.

    `code` names the reason for machines (the API's error code): "not_code_task", "no_patch",
    "no_attempt", "conflict" (the patch no longer applies to the branch, or the branch moved:
    Resolve with the agent can help), or "cannot_open_pr" for everything else (access, not on
    GitHub)."""

    def __init__(self, message: str, *, code: str = "cannot_open_pr") -> None:
        super().__init__(message)
        self.code = code
