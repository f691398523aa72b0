"""The "are you sure?" page a destructive link shows (GET) before the form that does it (POST)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme


def confirm_page(
    request: HttpRequest, *, title: str, question: str, button: str, action: str = ""
) -> HttpResponse:
    """Ask `question` under `title`; `button` posts to `action` (default: this same URL).
    Cancel goes back to the page the person came from when it is one of ours, else home."""
    came_from = request.META.get("HTTP_REFERER", "")
    safe = url_has_allowed_host_and_scheme(
        came_from, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return render(
        request,
        "accounts/team_confirm.html",
        {"title": title, "question": question, "action": action or request.path, "button": button,
         "cancel_url": came_from if safe and came_from else "/"},
    )


def confirm_then_do(
    request: HttpRequest,
    do: Callable[[], str],
    *,
    then: str,
    title: str,
    question: str,
    button: str,
    action: str = "",
) -> HttpResponse:
    """The whole confirm-then-POST view: GET asks (confirm_page); POST calls `do`, shows the
    sentence it returns and goes to `then` (a URL or URL name)."""
    if request.method == "POST":
        messages.success(request, do())
        return redirect(then)
    return confirm_page(request, title=title, question=question, button=button, action=action)
