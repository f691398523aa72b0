"""Reads for repositories."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet

from codexweb.accounts.models import Team
from repos.models import Environment, Repository, SetupRun


def team_repositories(team: Team) -> QuerySet[Repository]:
    """The team's connected repositories (disconnected ones only live on in task history)."""
    return Repository.objects.filter(team=team, disconnected_at__isnull=True)


def repositories_for_user(user: User | AnonymousUser) -> QuerySet[Repository]:
    """Every connected repository of every team the person belongs to."""
    if not user.is_authenticated:
        return Repository.objects.none()
    return Repository.objects.filter(
        team__memberships__user=user, disconnected_at__isnull=True
    ).distinct()


def repositories_matching(team: Team, query: str = "", *, limit: int = 50,
                          visibility: str = "", prefer: Sequence[int] = ()) -> list[Repository]:
    """The team's repositories whose owner/name contains every word of `query`, by name.

    `visibility` keeps only public, private or internal ones; the ids in `prefer` (e.g. recently
    used) that match come first, in the given order. At most `limit` results, two queries.
    """
    repositories = team_repositories(team)
    if visibility:
        repositories = repositories.filter(visibility=visibility)
    for word in query.split():
        owner, _, name = word.partition("/")
        if name or word.endswith("/"):
            repositories = repositories.filter(owner__icontains=owner, name__icontains=name)
        else:
            repositories = repositories.filter(Q(owner__icontains=word) | Q(name__icontains=word))
    preferred_ids = list(prefer)[:limit]
    first = {r.pk: r for r in repositories.filter(pk__in=preferred_ids)} if preferred_ids else {}
    head = [first[pk] for pk in preferred_ids if pk in first]
    rest = repositories.exclude(pk__in=list(first)).order_by("owner", "name")[: limit - len(head)]
    return head + list(rest)


def setup_runs_recent(environment: Environment, *, limit: int = 5) -> list[SetupRun]:
    """The environment's latest "run setup now" runs, newest first (without their logs)."""
    return list(
        SetupRun.objects.filter(environment=environment)
        .select_related("requested_by")
        .defer("log")
        .order_by("-created_at", "-pk")[:limit]
    )
