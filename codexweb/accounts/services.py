"""Writes for people and teams."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.utils.text import slugify

from codexweb.accounts.models import Membership, Team


def _unique_slug(name: str) -> str:
    base = slugify(name)[:90] or "team"
    slug, n = base, 1
    while Team.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def team_create(*, name: str, admin: User) -> Team:
    """Create a team with `admin` as its first administrator."""
    team = Team.objects.create(name=name.strip(), slug=_unique_slug(name))
    Membership.objects.create(team=team, user=admin, role=Membership.Role.ADMIN)
    return team


@transaction.atomic
def first_admin_create(*, username: str, email: str, password: str, team_name: str):
    """Create the install's first account (a superuser) and its team.

    Only valid while the install has no users at all; raises PermissionError otherwise.
    """
    user_model = get_user_model()
    if user_model.objects.exists():
        raise PermissionError("This install already has accounts; sign in instead.")
    user = user_model.objects.create_superuser(username=username, email=email, password=password)
    team_create(name=team_name, admin=user)
    return user


def personal_team_ensure(*, user: User) -> Team:
    """Give a person who belongs to no team a team of their own, as its admin."""
    existing = Team.objects.filter(memberships__user=user).first()
    if existing is not None:
        return existing
    return team_create(name=f"{user.get_username()}'s team", admin=user)
