"""The OAuth web flow of the GitHub double (github.com and GHES alike).

https://docs.github.com/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps
- GET /login/oauth/authorize: the signed-in browser user consents (or refuses, per
  `state.consent`) and is sent back to redirect_uri with `code` and `state`.
- POST /login/oauth/access_token: exchanges the code, checking client id and secret; answers JSON
  when asked with `Accept: application/json`, form-encoded otherwise, and 200 with an `error`
  field for a bad code, as GitHub does. `state.token_exchange` can make it fail. With
  `state.token_lifetime` set it plays a GitHub App with expiring user tokens: `expires_in`, a
  `refresh_token`, and `grant_type=refresh_token` exchanges (each refresh token works once).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.wrappers import Request, Response

from tests.support.github_state import REFRESH_TOKEN_LIFETIME, GitHubState, Grant

CODE_LIFETIME_SECONDS = 600


def _redirect(uri: str, params: dict[str, str]) -> Response:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    location = urlunsplit(parts._replace(query=urlencode(query)))
    return Response("", status=302, headers={"Location": location})


def authorize(state: GitHubState, request: Request) -> Response:
    args = request.args
    with state.lock:
        app = state.apps.get(args.get("client_id", ""))
        if app is None:
            return Response("<h1>404: unknown OAuth application</h1>", status=404,
                            content_type="text/html")
        redirect_uri = args.get("redirect_uri") or app.callback_url
        if not redirect_uri:
            return Response("redirect_uri is required", status=400)
        if app.callback_url and not redirect_uri.startswith(app.callback_url):
            return _redirect(app.callback_url, {
                "error": "redirect_uri_mismatch",
                "error_description": "The redirect_uri MUST match the registered callback URL "
                                     "for this application.",
                "state": args.get("state", ""),
            })
        login = state.browser_user
        if login is None:
            return Response("<h1>Sign in to GitHub</h1>", status=200, content_type="text/html")
        extra = {"state": args["state"]} if "state" in args else {}
        if state.consent == "deny":
            return _redirect(redirect_uri, {
                "error": "access_denied",
                "error_description": "The user has denied your application access.",
                "error_uri": "https://docs.github.com/apps/troubleshooting-authorization-request-errors/#access-denied",
                **extra,
            })
        code = secrets.token_hex(10)
        scopes = [s for s in args.get("scope", "").replace(" ", ",").split(",") if s]
        state.grants[code] = Grant(code=code, login=login, client_id=app.client_id,
                                   redirect_uri=args.get("redirect_uri"), scopes=scopes,
                                   expires_at=time.time() + CODE_LIFETIME_SECONDS)
    return _redirect(redirect_uri, {"code": code, **extra})


def _params(request: Request) -> dict[str, str]:
    params = dict(request.args.items())
    if request.mimetype == "application/json":
        params.update({k: str(v) for k, v in json.loads(request.get_data() or b"{}").items()})
    else:
        params.update(request.form.items())
    basic = request.headers.get("Authorization", "")
    if basic.lower().startswith("basic "):
        client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        params.setdefault("client_id", client_id)
        params.setdefault("client_secret", secret)
    return params


def _answer(request: Request, payload: dict[str, str | int]) -> Response:
    accept = request.headers.get("Accept", "")
    if "application/json" in accept:
        return Response(json.dumps(payload), status=200, content_type="application/json")
    form = "application/x-www-form-urlencoded"
    return Response(urlencode(payload), status=200, content_type=form)


def _error(request: Request, error: str, description: str) -> Response:
    return _answer(request, {
        "error": error,
        "error_description": description,
        "error_uri": "https://docs.github.com/apps/troubleshooting-oauth-app-access-token-request-errors",
    })


def access_token(state: GitHubState, request: Request) -> Response:
    if request.method != "POST":
        return Response("Not Found", status=404)
    params = _params(request)
    with state.lock:
        if state.token_exchange == "http_error":
            return Response("<h1>Unicorn! GitHub is having trouble</h1>", status=503,
                            content_type="text/html")
        if state.token_exchange == "error":
            return _error(request, "bad_verification_code",
                          "The code passed is incorrect or expired.")
        app = state.apps.get(params.get("client_id", ""))
        if app is None or not secrets.compare_digest(app.client_secret,
                                                     params.get("client_secret", "")):
            return _error(request, "incorrect_client_credentials",
                          "The client_id and/or client_secret passed are incorrect.")
        if params.get("grant_type") == "refresh_token":
            return _refresh(state, request, app.client_id, params.get("refresh_token", ""))
        grant = state.grants.pop(params.get("code", ""), None)
        if grant is None or grant.client_id != app.client_id or grant.expires_at < time.time():
            return _error(request, "bad_verification_code",
                          "The code passed is incorrect or expired.")
        redirect_uri = params.get("redirect_uri")
        if grant.redirect_uri and redirect_uri and redirect_uri != grant.redirect_uri:
            return _error(request, "redirect_uri_mismatch",
                          "The redirect_uri MUST match the registered callback URL for this "
                          "application.")
        if state.token_lifetime is not None:
            return _answer(request, _expiring_pair(state, grant.login, app.client_id, grant.scopes))
        token = state.issue_token(grant.login, grant.scopes)
    return _answer(request, {
        "access_token": token, "token_type": "bearer", "scope": ",".join(grant.scopes),
    })


def _expiring_pair(state: GitHubState, login: str, client_id: str,
                   scopes: list[str]) -> dict[str, str | int]:
    """What a GitHub App with expiring user tokens answers: the token, how long it lives, and a
    refresh token (scope is empty: a GitHub App's permissions are not scopes)."""
    lifetime = state.token_lifetime or 28_800
    return {
        "access_token": state.issue_token(login, scopes, lifetime=lifetime),
        "expires_in": lifetime,
        "refresh_token": state.issue_refresh_token(login, client_id, scopes),
        "refresh_token_expires_in": REFRESH_TOKEN_LIFETIME,
        "token_type": "bearer", "scope": "",
    }


def _refresh(state: GitHubState, request: Request, client_id: str, value: str) -> Response:
    """grant_type=refresh_token: a new token and a new refresh token; the old one is used up."""
    refresh = state.refresh_tokens.pop(value, None)
    if refresh is None or refresh.client_id != client_id or refresh.expires_at < time.time():
        return _error(request, "bad_refresh_token",
                      "The refresh token passed is incorrect or expired.")
    return _answer(request, _expiring_pair(state, refresh.login, client_id, refresh.scopes))
