"""Where a task starts: a branch of the repository, or an open pull request of it whose head
branch the attempt checks out (issue 15, item 2). Resolving a pull request asks GitHub with the
author's own credential, before anything is created."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User

from repos.github.client import GitHubAuthError, GitHubError
from repos.github.credentials import client_for, credential_for
from repos.github.pull_refs import PullReferenceError, pull_head_resolve
from repos.models import Repository


class StartPointError(ValueError):
    """The branch or pull request cannot be started from; the message is for the person."""


@dataclass(frozen=True)
class StartPoint:
    branch: str  # "" means the repository's default branch
    pull_number: int | None = None


def start_point_resolve(*, author: User, repository: Repository, branch: str,
                        pull_request: str) -> StartPoint:
    """The branch to check out, from what the composer, the API or the CLI was given.

    A pull request reference is resolved via GitHub as `author` (its head branch, same
    repository only). Raises StartPointError (no GitHub sign-in, not a pull request of this
    repository, closed, a fork, a branch that disagrees with it, GitHub failing) and
    GitHubAuthError (sign in again)."""
    reference = pull_request.strip()
    if not reference:
        return StartPoint(branch=branch.strip())
    if not repository.is_on_github:
        raise StartPointError(
            f"{repository.full_name} is not connected from GitHub, so it has no pull requests "
            "to start from; choose a branch instead.")
    credential = credential_for(author, repository.provider)
    if credential is None:
        raise StartPointError(
            f"Sign in with {repository.get_provider_display()} to start from a pull request.")
    try:
        head = pull_head_resolve(client_for(credential), repository, reference)
    except PullReferenceError as exc:
        raise StartPointError(str(exc)) from exc
    except GitHubAuthError:
        raise  # the pages ask the person to sign in again
    except GitHubError as exc:
        raise StartPointError(
            f"GitHub did not say which branch the pull request is on ({exc}); try again, or "
            "choose the branch.") from exc
    if branch.strip() and branch.strip() != head.head_ref:
        raise StartPointError(
            f"Pull request #{head.number} is on branch {head.head_ref}, not {branch.strip()}: "
            "give the branch or the pull request, not both.")
    return StartPoint(branch=head.head_ref, pull_number=head.number)
