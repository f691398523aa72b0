"""git with a person's token, renewed once when GitHub refuses it (HTTP 401) although it was
believed valid: revoked early, a clock skewed, or renewed by another process meanwhile. The
API client does the same for its calls (repos/github/credentials.py,
`credential_renew_refused`); without it a fetch or push would fail with "sign in again" while
a new token was one refresh away."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from repos.git.mirror import GitError
from repos.github.credentials import credential_renew_refused
from repos.github.models import GitHubCredential

T = TypeVar("T")


def refused_by_github(exc: GitError) -> bool:
    """git's words for an HTTP 401 to the token it sent: it then asks for a user name, which
    it may not (GIT_TERMINAL_PROMPT=0, askpass /bin/false)."""
    text = str(exc)
    return any(words in text for words in ("could not read Username", "Authentication failed",
                                           "returned error: 401"))


def with_renewed_token(credential: GitHubCredential, token: str,
                       run: Callable[[str], T]) -> tuple[T, str]:
    """(`run(token)`, the token used); when git says GitHub refused `token`, `run` once more
    with a renewed one (or the one another process stored). The refusal is raised as is when
    there is no new token; GitHubError when GitHub cannot be reached to renew."""
    try:
        return run(token), token
    except GitError as exc:
        if not refused_by_github(exc):
            raise
        renewed = credential_renew_refused(credential, token)
        if renewed is None:
            raise
    return run(renewed), renewed
