"""Content-Security-Policy for every page: scripts, styles and connections only from this origin.

The pages are built for it (ES modules, data handed over with `json_script`, no inline handlers or
style attributes), so an injected `<script>` or `onerror=` never runs even if some text escaped
sanitizing. Django 5.2 has no CSP support of its own; this is one header, set unless a view set one.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",  # same-origin fetch, EventSource and WebSocket
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
ADMIN_PREFIX = "/admin/"  # Django's admin uses inline styles; it keeps scripts to 'self' too
ADMIN_POLICY = POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            admin = request.path.startswith(ADMIN_PREFIX)
            response["Content-Security-Policy"] = ADMIN_POLICY if admin else POLICY
        return response
