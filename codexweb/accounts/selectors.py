"""Reads for people and teams."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.http import Http404

from codexweb.accounts.models import Membership, Team


def teams_for_user(user: User | AnonymousUser) -> QuerySet[Team]:
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(memberships__user=user).distinct()


def membership_for(user: User | AnonymousUser, team: Team) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, team=team).first()


def is_team_admin(user: User | AnonymousUser, team: Team) -> bool:
    membership = membership_for(user, team)
    return membership is not None and membership.is_admin


def get_admin_team(user: User | AnonymousUser, team: Team | None) -> Team:
    """`team` when `user` is one of its admins; Http404 otherwise (a page that is not yours is
    not found, never forbidden, so it reveals nothing)."""
    if team is None or not is_team_admin(user, team):
        raise Http404("Only team admins can do this.")
    return team
