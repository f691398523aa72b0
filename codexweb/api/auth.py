"""Authenticating API requests (`Authorization: Bearer <token>`), rate limiting, JSON errors.

`api_endpoint` wraps a plain view: CSRF does not apply (no cookies are trusted here), the token
is checked, the per-token budget counted, and ApiError / Http404 / a bad query parameter
(QueryParamError, 400) become JSON responses.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from pydantic import BaseModel, ValidationError

from codexweb.api.errors import ApiError, error_response, from_api_error
from codexweb.api.models import ApiToken
from codexweb.api.ratelimit import rate_limit_hit
from codexweb.api.tokens import api_token_authenticate
from codexweb.query_params import QueryParamError

logger = logging.getLogger(__name__)
MAX_BODY_BYTES = 256 * 1024


def authenticate(request: HttpRequest) -> ApiToken:
    """The request's token, or ApiError(401). Also applies the rate limit (ApiError 429)."""
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if not header:
        raise ApiError(
            401,
            "unauthenticated",
            "Authentication required: send 'Authorization: Bearer <token>' with a "
            "personal API token (create one under Settings → API tokens).",
            headers={"WWW-Authenticate": 'Bearer realm="codexweb"'},
        )
    if scheme.lower() != "bearer" or not raw.strip():
        raise ApiError(
            401,
            "unauthenticated",
            "Use 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": 'Bearer realm="codexweb"'},
        )
    token = api_token_authenticate(raw.strip())
    if token is None:
        raise ApiError(
            401,
            "invalid_token",
            "This API token is not valid or was revoked.",
            headers={"WWW-Authenticate": 'Bearer realm="codexweb", error="invalid_token"'},
        )
    decision = rate_limit_hit(f"token:{token.pk}")
    if not decision.allowed:
        raise ApiError(
            429,
            "rate_limited",
            f"Too many requests: {decision.limit} per minute per token. "
            f"Retry in {decision.retry_after} s.",
            headers={
                "Retry-After": str(decision.retry_after),
                "X-RateLimit-Limit": str(decision.limit),
                "X-RateLimit-Remaining": "0",
            },
        )
    request.user = token.user
    return token


def parse_body(
    request: HttpRequest, schema: type[BaseModel], *, max_bytes: int = MAX_BODY_BYTES
) -> Any:
    """The JSON body validated by `schema`, or ApiError(400) naming each bad field (413 past
    `max_bytes`; endpoints that take base64 images allow more)."""
    try:
        body = request.body
    except RequestDataTooBig as exc:
        raise ApiError(413, "too_large", "The request body is too large.") from exc
    if len(body) > max_bytes:
        raise ApiError(413, "too_large", "The request body is too large.")
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"The request body is not valid JSON: {exc}.") from exc
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        details = [
            {"field": ".".join(str(p) for p in err["loc"]) or "(body)", "message": err["msg"]}
            for err in exc.errors(include_url=False)
        ]
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details)
        raise ApiError(
            400, "invalid_request", f"Invalid request: {summary}", details=details
        ) from exc


def api_endpoint(
    *methods: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    allowed = {m.upper() for m in methods}

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                if request.method not in allowed:
                    raise ApiError(
                        405,
                        "method_not_allowed",
                        f"{request.method} is not allowed here; use {', '.join(sorted(allowed))}.",
                        headers={"Allow": ", ".join(sorted(allowed))},
                    )
                authenticate(request)
                return view(request, *args, **kwargs)
            except ApiError as exc:
                return from_api_error(exc)
            except QueryParamError as exc:
                return error_response(400, "invalid_parameter", str(exc))
            except Http404 as exc:
                return error_response(404, "not_found", str(exc) or "Not found.")

        return wrapper

    return decorate
