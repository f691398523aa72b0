"""Reads for repositories."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet

from codexweb.accounts.models import Team
from repos.models import Repository


def repositories_for_user(user: User | AnonymousUser) -> QuerySet[Repository]:
    """Every repository of every team the person belongs to."""
    if not user.is_authenticated:
        return Repository.objects.none()
    return Repository.objects.filter(team__memberships__user=user).distinct()


def repositories_matching(team: Team, query: str = "", *, limit: int = 50) -> list[Repository]:
    """The team's repositories whose owner/name contains every word of `query`."""
    repositories = Repository.objects.filter(team=team)
    for word in query.split():
        owner, _, name = word.partition("/")
        if name or word.endswith("/"):
            repositories = repositories.filter(owner__icontains=owner, name__icontains=name)
        else:
            repositories = repositories.filter(Q(owner__icontains=word) | Q(name__icontains=word))
    return list(repositories.order_by("owner", "name")[:limit])
