"""Content-Security-Policy for every page: scripts, styles and connections only from this origin.

The pages are built for it (ES modules, data handed over with `json_script`, no inline handlers or
style attributes), so an injected `<script>` or `onerror=` never runs even if some text escaped
sanitizing. Django 5.2 has no CSP support of its own; this is one header, set unless a view set one.

`form-action` also names the GitHub and GitHub Enterprise web origins: browsers apply it to the
redirects a form's POST answers with, and "Sign in with GitHub" and "Connect GitHub" are POSTs
that this app answers with a redirect to GitHub's authorize page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

ADMIN_PREFIX = "/admin/"  # Django's admin uses inline styles; it keeps scripts to 'self' too


def _origin(url: str) -> str:
    """scheme://host[:port] of `url`, or "" when it is not an http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}"


@lru_cache(maxsize=8)
def policy(github_url: str = "", ghes_url: str = "", *, admin: bool = False) -> str:
    """The header's value; the OAuth origins are allowed as form targets (see the module doc)."""
    oauth = sorted({o for o in (_origin(github_url), _origin(ghes_url)) if o})
    return "; ".join((
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'" if admin else "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",  # same-origin fetch, EventSource and WebSocket
        "object-src 'none'",
        "base-uri 'none'",
        " ".join(["form-action 'self'", *oauth]),
        "frame-ancestors 'none'",
    ))


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy(
                settings.GITHUB_URL, settings.GHES_URL,
                admin=request.path.startswith(ADMIN_PREFIX),
            )
        return response
