"""Signing in with GitHub (or GitHub Enterprise) through Django's test client, step by step.

The browser is played by the test client (our side) and `requests` (GitHub's side, the double):
`start_sign_in` presses the button, `visit_github` consents at the double, `land` comes back to the
callback (optionally with tampered query parameters); `sign_in` does all three.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

BACKEND = {"github": "github", "ghes": "github-enterprise"}


def start_sign_in(client, double, layout: str) -> str:
    """Press the sign-in button; return where the app sends the browser (GitHub's authorize)."""
    response = client.post(f"/oauth/login/{BACKEND[layout]}/")
    assert response.status_code == 302
    location = response["Location"]
    base = double.web_url if layout == "github" else double.ghes_url
    assert location.startswith(f"{base}/login/oauth/authorize?"), location
    return location


def visit_github(authorize_url: str, *, verify: str | bool = True) -> str:
    """The browser at GitHub: follow the consent redirect back; return the callback URL.
    `verify`: the CA bundle the browser trusts (a GHES behind a company CA)."""
    response = requests.get(authorize_url, allow_redirects=False, timeout=10, verify=verify)
    assert response.status_code == 302, response.text
    callback = response.headers["Location"]
    assert urlsplit(callback).netloc == "testserver", callback
    return callback


def land(client, callback: str, **query_changes: str | None):
    """The browser back at the app's callback, optionally with tampered query parameters."""
    parts = urlsplit(callback)
    query = dict(parse_qsl(parts.query))
    for key, value in query_changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return client.get(f"{parts.path}?{urlencode(query)}")


def sign_in(client, double, layout: str, *, verify: str | bool = True):
    return land(client, visit_github(start_sign_in(client, double, layout), verify=verify))
