"""The "are you sure?" page a destructive link shows (GET) before the form that does it (POST)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def confirm_page(
    request: HttpRequest, *, title: str, question: str, button: str, action: str = ""
) -> HttpResponse:
    """Ask `question` under `title`; `button` posts to `action` (default: this same URL)."""
    return render(
        request,
        "accounts/team_confirm.html",
        {"title": title, "question": question, "action": action or request.path, "button": button},
    )
