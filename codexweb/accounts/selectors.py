"""Reads for people and teams."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

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
