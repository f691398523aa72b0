"""GitHub's own REST description (a subset) judges what the GitHub double accepts and says.

Two documents cut from github/rest-api-description are merged: `../shared/github/
rest-subset.openapi.json` and `github_openapi_extra.json` beside this module (the operations
issue 15 added: list/update pulls, reviews, issue comments, compare, get a branch; see
github_openapi_cut.py). Both come from the same release, so a component they share is identical.
Requests are validated as if sent to https://api.github.com (the double strips its own prefix, so
the github.com and GHES layouts are judged by the same document); single payloads are validated
with OAS 3.0 semantics (`nullable`) so the canned builders can be checked in isolation.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

# `../shared` sits beside the project's folder, in a developer's checkout and in CI's clone alike.
_SHARED_SPEC = (
    Path(__file__).resolve().parents[3] / "shared" / "github" / "rest-subset.openapi.json"
)
SPEC_PATH = Path(os.environ.get("GITHUB_OPENAPI_SUBSET", str(_SHARED_SPEC)))
EXTRA_SPEC_PATH = Path(__file__).with_name("github_openapi_extra.json")
SPEC_HOST = "https://api.github.com"


def merge_documents(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`base` with `extra`'s operations and components added; a clash is an error, not a pick."""
    merged = json.loads(json.dumps(base))
    for path, item in extra["paths"].items():
        target = merged["paths"].setdefault(path, {})
        for method, operation in item.items():
            if method in target and target[method] != operation:
                raise ValueError(f"both descriptions define {method.upper()} {path} differently")
            target[method] = operation
    for section, items in extra.get("components", {}).items():
        target = merged.setdefault("components", {}).setdefault(section, {})
        for name, value in items.items():
            if name in target and target[name] != value:
                raise ValueError(f"both descriptions define components/{section}/{name} "
                                 "differently (cut them from the same release)")
            target[name] = value
    return merged


@lru_cache(maxsize=1)
def spec_document() -> dict[str, Any]:
    return merge_documents(json.loads(SPEC_PATH.read_text()),
                           json.loads(EXTRA_SPEC_PATH.read_text()))


@lru_cache(maxsize=1)
def spec_api() -> OpenAPI:
    return OpenAPI.from_dict(spec_document())


@lru_cache(maxsize=1)
def _registry() -> Registry:
    resource = Resource.from_contents(spec_document(), default_specification=DRAFT4)
    return Registry().with_resource("urn:github", resource)


def schema_errors(payload: Any, schema_name: str) -> list[str]:
    """Every way `payload` breaks `#/components/schemas/<schema_name>` (empty: valid)."""
    validator = OAS30Validator(
        {"$ref": f"urn:github#/components/schemas/{schema_name}"}, registry=_registry()
    )
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(payload)
    ]


@dataclass(frozen=True)
class ApiCall:
    """One REST call as the description sees it: path relative to the API root."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    content_type: str

    def as_openapi(self) -> MockRequest:
        return MockRequest(
            SPEC_HOST,
            self.method.lower(),
            self.path,
            args=self.query,
            headers=self.headers,
            data=self.body or None,
            content_type=self.content_type or "application/json",
        )


@lru_cache(maxsize=1)
def _contract_paths() -> list[tuple[str, re.Pattern[str]]]:
    paths = json.loads(SPEC_PATH.read_text())["paths"]
    return [(method.upper(), re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+",
                                                     re.escape(path)) + "$"))
            for path, item in paths.items() for method in item
            if method in {"get", "post", "put", "patch", "delete"}]


def in_contract(method: str, path: str) -> bool:
    """True when the shared contract itself (not our extra description) has this operation: an
    independent GitHub built to it may answer 404 to every other."""
    return any(m == method.upper() and pattern.match(path) for m, pattern in _contract_paths())


def is_described(call: ApiCall) -> bool:
    """True when the subset describes this method and path (others are served unvalidated)."""
    return _operation(call) is not None


def request_problem(call: ApiCall) -> str | None:
    """Why GitHub would refuse this request according to the description, or None."""
    try:
        spec_api().validate_request(call.as_openapi())
    except Exception as exc:  # noqa: BLE001 - every validation failure is reported as text
        return _describe(exc)
    return None


# Statuses GitHub answers on any operation whether or not the description lists them for it.
GENERIC_STATUSES = {301, 304, 307, 401, 403, 404, 429, 500, 503}  # 301/307: a moved repository


def response_problem(
    call: ApiCall, status: int, body: bytes, headers: dict[str, str], content_type: str
) -> str | None:
    """Why this response does not match the description, or None.

    Generic statuses (auth, rate limits, not found) that the operation does not list are allowed
    when the body is a `basic-error`.
    """
    operation = _operation(call)
    documented = operation is not None and str(status) in operation.get("responses", {})
    if not documented:
        if status not in GENERIC_STATUSES:
            return f"status {status} is not documented for {call.method} {call.path}"
        if status == 304 or not body:
            return None
        errors = schema_errors(json.loads(body), "basic-error")
        return "; ".join(errors) or None
    response = MockResponse(body, status_code=status, headers=headers, content_type=content_type)
    try:
        spec_api().validate_response(call.as_openapi(), response)
    except Exception as exc:  # noqa: BLE001
        return _describe(exc)
    return None


def _operation(call: ApiCall) -> dict[str, Any] | None:
    from openapi_core.templating.paths.finders import APICallPathFinder

    finder = APICallPathFinder(spec_api().spec)
    try:
        found = finder.find(call.method.lower(), SPEC_HOST + call.path)
    except Exception:  # noqa: BLE001
        return None
    return dict(found.operation.read_value())


def _describe(exc: BaseException) -> str:
    parts = [f"{type(exc).__name__}: {exc}"]
    cause = exc.__cause__
    while cause is not None:
        parts.append(str(cause))
        nested = getattr(cause, "schema_errors", None)
        if nested:
            parts.extend(str(getattr(e, "message", e)) for e in nested)
        cause = cause.__cause__
    return " | ".join(parts)
