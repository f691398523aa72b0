"""Every page but sign-in requires a signed-in user; OAuth failures become clear messages, and a
sign-in the operator's policy refuses gets a page that says why."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve
from social_core.exceptions import SocialAuthBaseException

PUBLIC_PREFIXES = ("/accounts/login/", "/accounts/setup/", "/oauth/", "/static/", "/healthz",
                   # The REST API authenticates bearer tokens itself (codexweb/api/auth.py).
                   "/api/v1/")

ViewT = TypeVar("ViewT", bound=Callable[..., Any])


def json_endpoint(view: ViewT) -> ViewT:
    """Mark a view that answers JSON to scripts: anonymous callers get 401, not a redirect."""
    view.json_endpoint = True  # type: ignore[attr-defined]
    return view


def _answers_json(request: HttpRequest) -> bool:
    if request.path.startswith("/api/"):
        return True
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    return bool(getattr(match.func, "json_endpoint", False))


class LoginRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated and not request.path.startswith(PUBLIC_PREFIXES):
            if _answers_json(request):
                return JsonResponse({"error": "Authentication required."}, status=401)
            return redirect_to_login(request.get_full_path())
        return self.get_response(request)


class SocialAuthErrorMiddleware:
    """Turn a failed GitHub sign-in (refused consent, bad state, token exchange) into a message.

    Also: a GitHub token refused later (expired or revoked; GitHubAuthError raised
    by any view) signs the person out and sends them to the sign-in page with "sign in again",
    instead of an error page. JSON endpoints get a 401 with the same sentence.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from repos.github.client import GitHubAuthError

        if isinstance(exception, GitHubAuthError):
            return self._sign_in_again(request, str(exception))
        if not isinstance(exception, SocialAuthBaseException):
            return None
        from codexweb.accounts.signin_policy import SignInRefused

        if isinstance(exception, SignInRefused):
            # Its own page (403), not a line on the sign-in form: the person needs to act
            # elsewhere (get an invitation, join the organization), not to try again here.
            return render(request, "accounts/signin_refused.html",
                          {"reason": exception.reason}, status=403)
        from codexweb.accounts.oauth_errors import describe

        # The provider's own words go to the log for an administrator, never to the page.
        logging.getLogger("codexweb.accounts.oauth").warning(
            "GitHub sign-in failed: %s code=%s stage=%s detail=%s",
            type(exception).__name__, getattr(exception, "code", ""),
            getattr(exception, "stage", ""), getattr(exception, "detail", ""),
        )
        messages.error(request, describe(exception))
        return redirect("accounts:login")

    @staticmethod
    def _sign_in_again(request: HttpRequest, message: str) -> HttpResponse:
        if _answers_json(request):
            return JsonResponse({"error": message, "sign_in_again": True}, status=401)
        next_url = request.get_full_path() if request.method == "GET" else "/"
        logout(request)
        messages.warning(request, message)
        return redirect_to_login(next_url)
