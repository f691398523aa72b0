"""The team a signed-in person is working in (they may belong to several)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, TypeVar

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Model
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from codexweb.accounts.models import Team
from codexweb.accounts.selectors import get_admin_team, teams_for_user

SESSION_KEY = "current_team_id"

Owned = TypeVar("Owned", bound=Model)


def current_team_for(
    user: User | AnonymousUser, session: MutableMapping[str, Any]
) -> Team | None:
    """The team chosen in this session if the person still belongs to it, else their first."""
    teams = teams_for_user(user)
    chosen = session.get(SESSION_KEY)
    team = teams.filter(pk=chosen).first() if chosen else None
    return team or teams.order_by("pk").first()


def current_team(request: HttpRequest) -> Team | None:
    return current_team_for(request.user, request.session)


def current_admin_team(request: HttpRequest) -> Team:
    """The current team if the person administers it, else Http404 (accounts.selectors)."""
    return get_admin_team(request.user, current_team(request))


def current_admin_team_row(request: HttpRequest, model: type[Owned], pk: int) -> Owned:
    """The `model` row `pk` of the current team when the person administers it; Http404
    otherwise, also for another team's row (ids do not leak). `model` has a `team` field."""
    return get_object_or_404(model, pk=pk, team=current_admin_team(request))


def current_team_set(request: HttpRequest, team: Team) -> None:
    request.session[SESSION_KEY] = team.pk


def signed_in_user(request: HttpRequest) -> User:
    """The person making the request. LoginRequiredMiddleware lets no anonymous request reach a
    view that calls this; should one get here anyway, it is refused (PermissionDenied)."""
    from django.core.exceptions import PermissionDenied

    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied("Sign in first.")
    return user
