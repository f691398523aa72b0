"""Resolve what a person typed for "start from a pull request" (a number, `#12`, `owner/name#12`
or the PR's URL) to the branch it comes from, via the GitHub API (issue 15, item 2).

Only a pull request whose head branch lives in the same repository is accepted: a fork's branch
is someone else's repository, which codexweb neither mirrors nor may push to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from repos.github.client import GitHubClient, GitHubNotFound, web_base_url
from repos.models import Repository

_NUMBER = re.compile(r"^#?(\d{1,9})$")
_SHORT = re.compile(r"^([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)#(\d{1,9})$")
_PATH = re.compile(r"^/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)/pull/(\d{1,9})(?:/.*)?$")


class PullReferenceError(ValueError):
    """The reference cannot be used; the message says why, for the person."""


@dataclass(frozen=True)
class PullHead:
    """An open pull request of the repository and the branch its commits are on."""

    number: int
    html_url: str
    head_ref: str
    head_sha: str
    base_ref: str


def pull_number_parse(reference: str, repository: Repository) -> int:
    """The pull request number `reference` names in `repository`.

    Raises PullReferenceError when it is not a number, `#N`, `owner/name#N` or this
    repository's pull request URL (another repository's is refused, not followed)."""
    text = reference.strip()
    match = _NUMBER.match(text)
    if match:
        return int(match.group(1))
    owner = name = ""
    number = 0
    short = _SHORT.match(text)
    if short:
        owner, name, number = short.group(1), short.group(2), int(short.group(3))
    else:
        parts = urlsplit(text)
        site = urlsplit(web_base_url(repository.provider))
        # A GitHub Enterprise Server may live under a path (https://host/github/owner/name).
        prefix = site.path.rstrip("/")
        page = parts.path
        if prefix and page.lower().startswith(prefix.lower() + "/"):
            page = page[len(prefix):]
        path = _PATH.match(page) if parts.scheme in {"http", "https"} else None
        if path is None:
            raise PullReferenceError(
                f"{text[:100]!r} is not a pull request: give its number (e.g. 12) or its URL "
                f"(e.g. {web_base_url(repository.provider)}/{repository.full_name}/pull/12).")
        if parts.netloc.lower() != site.netloc.lower():
            raise PullReferenceError(
                f"That pull request is on {parts.netloc}, not on {site.netloc} where "
                f"{repository.full_name} lives.")
        owner, name, number = path.group(1), path.group(2), int(path.group(3))
    if (owner.lower(), name.lower()) != (repository.owner.lower(), repository.name.lower()):
        raise PullReferenceError(
            f"That pull request belongs to {owner}/{name}, not to {repository.full_name}: "
            "choose that repository, or give a pull request of this one.")
    return number


def pull_head_resolve(client: GitHubClient, repository: Repository, reference: str) -> PullHead:
    """Ask GitHub for the pull request `reference` names and return its head branch.

    Raises PullReferenceError when it does not exist, is not open, or comes from a fork;
    other GitHubErrors (auth, rate limit) propagate."""
    number = pull_number_parse(reference, repository)
    try:
        pull = client.pull(repository.owner, repository.name, number)
    except GitHubNotFound as exc:
        raise PullReferenceError(
            f"{repository.full_name} has no pull request #{number}.") from exc
    if pull.state != "open":
        raise PullReferenceError(
            f"Pull request #{number} is {pull.state}; start from an open one, or from a branch.")
    if pull.head_repo.lower() != repository.full_name.lower():
        where = pull.head_repo or "a repository that was deleted"
        raise PullReferenceError(
            f"Pull request #{number} comes from a fork ({where}): codexweb can only start from "
            f"and push to branches of {repository.full_name} itself. Push the branch to "
            f"{repository.full_name} and start from it.")
    return PullHead(number=number, html_url=pull.html_url, head_ref=pull.head_ref,
                    head_sha=pull.head_sha, base_ref=pull.base_ref)
