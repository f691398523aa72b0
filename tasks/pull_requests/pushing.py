"""What opening and updating a pull request share: the person's GitHub client (checked for push
access), a commit made as them, and a push whose refusal reads as a sentence."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.contrib.auth.models import User

from repos.access import NO_PUSH
from repos.git import mirror
from repos.git.token_renewal import refused_by_github, with_renewed_token
from repos.github.client import GitHubClient
from repos.github.credentials import client_for, credential_for
from repos.github.models import GitHubCredential
from repos.models import Repository
from tasks.pull_requests.body import commit_message
from tasks.pull_requests.errors import PullRequestError
from tasks.pull_requests.rate_limits import after_a_short_wait

T = TypeVar("T")

PUSH_REFUSED = "GitHub refused the push of branch {branch}: {detail}"
GIT_REFUSED = ("{name} refused your sign-in to git (HTTP 401) while {what}. Sign in again with "
               "{name}; if it keeps happening, your token may not reach this repository's code.")


@dataclass
class Pusher:
    """A person who may push to `repository`, with their client, credential and token (the
    token is replaced when git's use of it was refused and it was renewed)."""

    user: User
    credential: GitHubCredential
    client: GitHubClient
    token: str
    url: str  # where git pushes (the token is scoped to its host)


def with_renewal(pusher: Pusher, run: Callable[[str], T]) -> T:
    """`run(token)`, once more with a renewed token when git says GitHub refused it
    (repos/git/token_renewal.py); the pusher keeps the token that worked for its later calls."""
    result, pusher.token = with_renewed_token(pusher.credential, pusher.token, run)
    return result


def pusher_for(user: User | None, repository: Repository) -> Pusher:
    """`user`'s GitHub client after GitHub confirmed they may push to `repository`.

    Raises PullRequestError (not signed in, no push access), GitHubAuthError (the token was
    refused; client_for marks the credential invalid so the page asks them to sign in again)
    and GitHubRateLimited (a limit longer than a short wait)."""
    credential = credential_for(user, repository.provider) if user else None
    if user is None or credential is None:
        raise PullRequestError(f"Sign in with {repository.get_provider_display()} first.")
    client = client_for(credential)  # a 401 marks the credential invalid (client_for)
    info = after_a_short_wait(lambda: client.repository(repository.owner, repository.name))
    if not info.can_push:
        raise PullRequestError(NO_PUSH.format(name=repository.get_provider_display(),
                                              repo=repository))
    return Pusher(user=user, credential=credential, client=client,
                  token=credential.reveal(), url=mirror.remote_url(repository))


def fetch_mirror(pusher: Pusher, repository: Repository) -> None:
    """Bring the host mirror up to date with GitHub as the pusher (PullRequestError if not)."""
    try:
        with_renewal(pusher, lambda token: mirror.mirror_update(repository, token=token))
    except mirror.GitError as exc:
        if refused_by_github(exc):
            raise PullRequestError(GIT_REFUSED.format(
                what=f"fetching {repository}", name=repository.get_provider_display())) from exc
        raise PullRequestError(f"Could not fetch {repository} from GitHub: {exc}") from exc


def commit_as(pusher: Pusher, work: Path, *, title: str, prompt: str) -> str:
    """Commit what is staged in `work` as the pusher (GitHub noreply address) with the agent as
    co-author; returns the new commit."""
    name = pusher.user.get_full_name() or pusher.credential.login
    email = pusher.credential.noreply_email
    identity = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
                "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}
    mirror.run_git(["-C", str(work), "commit", "--quiet", "--no-verify", "-F", "-"],
                   input_text=commit_message(title, prompt, settings.PR_CO_AUTHOR),
                   extra_env=identity)
    return mirror.run_git(["-C", str(work), "rev-parse", "HEAD"]).strip()


def push_head(pusher: Pusher, work: Path, branch: str, *, force: bool) -> None:
    """Push `work`'s HEAD to `branch`. Without `force` only a fast-forward is accepted, so
    commits someone else pushed meanwhile are never overwritten. PullRequestError if refused."""
    args = ["-C", str(work), "push", "--quiet", *(["--force"] if force else []), pusher.url,
            f"HEAD:refs/heads/{branch}"]
    try:
        with_renewal(pusher, lambda token: mirror.run_git(args, token=token,
                                                          remote_url=pusher.url))
    except mirror.GitError as exc:
        if refused_by_github(exc):
            name = pusher.credential.get_provider_display()
            raise PullRequestError(GIT_REFUSED.format(what=f"pushing {branch}",
                                                      name=name)) from exc
        remote = [line.removeprefix("remote:").strip() for line in str(exc).splitlines()
                  if line.startswith("remote:") and line.removeprefix("remote:").strip()]
        detail = " ".join(remote) or str(exc).splitlines()[-1]
        raise PullRequestError(PUSH_REFUSED.format(branch=branch, detail=detail)) from exc



def git_detail(exc: mirror.GitError) -> str:
    """The first line of what git said, for a sentence."""
    return str(exc).splitlines()[0] if str(exc) else "no details"
