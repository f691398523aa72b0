"""Every page but sign-in requires a signed-in user; OAuth failures become clear messages."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from social_core.exceptions import SocialAuthBaseException

PUBLIC_PREFIXES = ("/accounts/login/", "/accounts/setup/", "/oauth/", "/static/", "/healthz")


class LoginRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated and not request.path.startswith(PUBLIC_PREFIXES):
            if request.path.startswith("/api/"):
                return JsonResponse({"error": "Authentication required."}, status=401)
            return redirect_to_login(request.get_full_path())
        return self.get_response(request)


class SocialAuthErrorMiddleware:
    """Turn a failed GitHub sign-in (refused consent, bad state, token exchange) into a message."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, SocialAuthBaseException):
            return None
        from codexweb.accounts.oauth_errors import describe

        messages.error(request, describe(exception))
        return redirect("accounts:login")
