"""Request types for views behind LoginRequiredMiddleware, where the user is always signed in."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest


class AuthedRequest(HttpRequest):
    """An HttpRequest whose user is known to be authenticated (the middleware guarantees it)."""

    user: User
