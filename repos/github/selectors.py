"""Reads over people's GitHub catalogs (the repository picker)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Q, QuerySet

from repos.github.models import GitHubCredential, GitHubRepositoryAccess


def github_catalog(user: User | AnonymousUser, *, provider: str, query: str = "",
                   visibility: str = "", pushable_only: bool = False,
                   order: str = "name") -> QuerySet[GitHubRepositoryAccess]:
    """Repositories GitHub said `user` can reach, filtered by "owner/name" text and visibility.

    `order` is "name" (owner, name) or "recent" (most recently pushed first). Uses the
    (credential, owner, name) and (credential, pushed_at) indexes; slice the result for a page.
    """
    if not user.is_authenticated:
        return GitHubRepositoryAccess.objects.none()
    rows = GitHubRepositoryAccess.objects.filter(
        credential__user=user, credential__provider=provider, credential__invalid_at=None
    )
    text = query.strip()
    if "/" in text:
        owner, _, name = text.partition("/")
        rows = rows.filter(owner__istartswith=owner.strip(), name__icontains=name.strip())
    elif text:
        rows = rows.filter(Q(name__icontains=text) | Q(owner__icontains=text))
    if visibility:
        rows = rows.filter(visibility=visibility)
    if pushable_only:
        rows = rows.filter(can_push=True)
    if order == "recent":
        return rows.order_by("-pushed_at", "owner", "name")
    return rows.order_by("owner", "name")


def catalog_owners(user: User | AnonymousUser, *, provider: str) -> list[tuple[str, int]]:
    """(owner, number of repositories) for every owner in the person's catalog, by name."""
    rows = github_catalog(user, provider=provider).order_by()
    return [(row["owner"], row["n"]) for row in
            rows.values("owner").annotate(n=Count("pk")).order_by("owner")]


def github_credentials_for(user: User | AnonymousUser) -> QuerySet[GitHubCredential]:
    if not user.is_authenticated:
        return GitHubCredential.objects.none()
    return GitHubCredential.objects.filter(user=user)
