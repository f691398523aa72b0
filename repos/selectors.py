"""Reads for repositories."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet
from django.http import Http404

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


def team_repository_chosen(team: Team, *, pk: int | None = None,
                           full_name: str = "") -> Repository | None:
    """The team's repository with id `pk`, else the one named "owner/name" (connected or not:
    history keeps disconnected ones), else None."""
    if pk:
        return Repository.objects.filter(team=team, pk=pk).first()
    owner, slash, name = full_name.partition("/")
    if not slash:
        return None
    return Repository.objects.filter(team=team, owner=owner, name=name).first()


def get_repository_for_user(user: User | AnonymousUser, pk: int) -> Repository:
    """The connected repository `pk` of one of the person's teams (team loaded), else Http404
    (never 403, so other teams' ids don't leak)."""
    repository = repositories_for_user(user).select_related("team").filter(pk=pk).first()
    if repository is None:
        raise Http404("No such repository in your teams.")
    return repository


class RepositoryReferenceError(LookupError):
    """A repository named in a request cannot be used; the message says why, for the person.

    `reason`: "invalid" (not owner/name), "not_found", or "ambiguous" (in several teams)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def repository_by_reference(user: User | AnonymousUser, reference: str | int, *,
                            team_slug: str | None = None) -> Repository:
    """The connected repository of the person's teams named "owner/name" or by id, in the team
    `team_slug` when given (the same name may be connected in two teams). Raises
    RepositoryReferenceError."""
    candidates = repositories_for_user(user).select_related("team")
    if team_slug:
        candidates = candidates.filter(team__slug=team_slug)
    if isinstance(reference, int):
        matches = list(candidates.filter(pk=reference))
        label = f"#{reference}"
    else:
        owner, slash, name = reference.strip().partition("/")
        if not slash or not owner or not name:
            raise RepositoryReferenceError("repository: write it as owner/name.", reason="invalid")
        matches = list(candidates.filter(owner=owner, name=name))
        label = reference
    if not matches:
        raise RepositoryReferenceError(f"No repository {label} in your teams.", reason="not_found")
    if len(matches) > 1:
        teams = ", ".join(sorted(r.team.slug for r in matches))
        raise RepositoryReferenceError(
            f'{label} exists in several of your teams ({teams}); pass "team".', reason="ambiguous"
        )
    return matches[0]


def repositories_named(repositories: QuerySet[Repository], query: str) -> QuerySet[Repository]:
    """`repositories` whose owner/name contains every word of `query` ("acme/web" matches the
    owner and the name apart; "acme/" the owner alone)."""
    for word in query.split():
        owner, _, name = word.partition("/")
        if name or word.endswith("/"):
            repositories = repositories.filter(owner__icontains=owner, name__icontains=name)
        else:
            repositories = repositories.filter(Q(owner__icontains=word) | Q(name__icontains=word))
    return repositories


def repositories_matching(team: Team, query: str = "", *, limit: int = 50,
                          visibility: str = "", prefer: Sequence[int] = ()) -> list[Repository]:
    """The team's repositories whose owner/name contains every word of `query`, by name.

    `visibility` keeps only public, private or internal ones; the ids in `prefer` (e.g. recently
    used) that match come first, in the given order. At most `limit` results, two queries.
    """
    repositories = repositories_named(team_repositories(team), query)
    if visibility:
        repositories = repositories.filter(visibility=visibility)
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
