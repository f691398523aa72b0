"""The composer's list of a GitHub repository's open pull requests to start a task from.

One page of GitHub's list (the 100 newest), kept for a minute per repository so choosing the
repository again does not call GitHub again. Callers check that the person may read the
repository first (the list is the same for everyone who may).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.contrib.auth.models import User
from django.core.cache import cache

from repos.github.client import GitHubError, GitHubNotFound
from repos.github.credentials import client_for, credential_for
from repos.models import Repository

CACHE_SECONDS = 60
NO_CREDENTIAL = ("Sign in with GitHub to list {repository}'s pull requests; you can still type "
                 "a number or URL.")


@dataclass(frozen=True)
class OpenPull:
    number: int
    title: str
    head: str  # the branch a task started from it checks out
    draft: bool

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def open_pulls(user: User, repository: Repository) -> list[OpenPull]:
    """The repository's open pull requests, newest first ([] for one not on GitHub). Raises
    GitHubError with a sentence (no GitHub sign-in, rate limit, GitHub down); a refused token
    raises GitHubAuthError (sign in again)."""
    if not repository.is_on_github:
        return []
    key = f"codexweb:open-pulls:{repository.pk}"
    cached = cache.get(key)
    if cached is not None:
        return [OpenPull(**row) for row in cached]
    credential = credential_for(user, repository.provider)
    if credential is None:
        raise GitHubError(NO_CREDENTIAL.format(repository=repository.full_name))
    try:
        found = client_for(credential).pulls(repository.owner, repository.name, max_pages=1)
    except GitHubNotFound:
        # The caller saw the repository readable just now: a 404 here is a server without
        # the list operation (it is not in the shared contract), so there is nothing to suggest.
        found = []
    pulls = [OpenPull(p.number, p.title, p.head_ref, p.draft) for p in found]
    cache.set(key, [p.as_json() for p in pulls], CACHE_SECONDS)
    return pulls
