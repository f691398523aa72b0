"""The Review parts of the OpenAPI description (merged into openapi.py's document)."""

from __future__ import annotations

from typing import Any

_ID = [{"name": "pk", "in": "path", "required": True, "schema": {"type": "integer"}}]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_CITATION = {
    "type": "object",
    "required": ["raw", "kind", "target", "start", "end", "valid", "reason"],
    "properties": {
        "raw": {"type": "string"}, "kind": {"type": "string", "enum": ["F", "T"]},
        "target": {"type": "string"}, "start": {"type": "integer"}, "end": {"type": "integer"},
        "valid": {"type": "boolean", "description": "the worker's verdict"},
        "reason": {"type": "string"},
    },
}

TASK_CREATE_FIELDS: dict[str, Any] = {
    "pull": {"type": ["integer", "null"], "minimum": 1,
             "description": "review: a pull request number of the repository"},
    "review_branch": {"type": "string", "description": "review: a branch, against `branch`"},
    "review_attempt": {"type": ["integer", "null"], "minimum": 1,
                       "description": "review: an attempt's id (its own diff)"},
}

SCHEMAS: dict[str, Any] = {
    "Review": {
        "type": "object",
        "required": ["attempt", "answered", "summary", "findings", "malformed", "base_sha",
                     "head_sha", "pull", "post_state", "post_url", "post_error", "poll_url"],
        "properties": {
            "attempt": {"type": "integer"},
            "answered": {"type": "boolean", "description": "the agent gave a findings block"},
            "summary": {"type": "string"},
            "findings": {"type": "array", "items": {
                "type": "object",
                "required": ["file", "line", "severity", "explanation", "citations"],
                "properties": {
                    "file": {"type": "string"},
                    "line": {"type": "integer", "description": "in the new version"},
                    "severity": {"type": "string",
                                 "enum": ["blocker", "major", "minor", "nit"]},
                    "explanation": {"type": "string"},
                    "citations": {"type": "array", "items": _CITATION},
                },
            }},
            "malformed": {"type": "array", "items": {
                "type": "object", "required": ["text", "problem"],
                "properties": {"text": {"type": "string"}, "problem": {"type": "string"}},
            }},
            "base_sha": {"type": "string"},
            "head_sha": {"type": "string"},
            "pull": {"type": ["integer", "null"]},
            "post_state": {"type": "string", "enum": ["", "posting", "posted", "failed"]},
            "post_url": {"type": "string"},
            "post_error": {"type": "string"},
            "poll_url": {"type": "string"},
        },
    },
}


def paths(errors: dict[str, Any], not_found: dict[str, Any],
          error: Any) -> dict[str, Any]:
    return {
        "/attempts/{pk}/review": {
            "get": {
                "summary": "A Review attempt's findings, and whether they were posted",
                "operationId": "getReview",
                "parameters": _ID,
                "responses": {
                    "200": _json(_ref("Review"), "The review"),
                    **not_found, **errors,
                },
            }
        },
        "/attempts/{pk}/review/post": {
            "post": {
                "summary": "Post a review of a pull request as a GitHub review with line "
                "comments (a job posts it: poll `poll_url` until `post_state` is not posting)",
                "operationId": "postReview",
                "parameters": _ID,
                "responses": {
                    "200": _json(_ref("Review"), "Posted already"),
                    "202": _json(_ref("Review"), "Accepted: being posted"),
                    "409": error("Not a finished review of a pull request, or no access"),
                    "502": error("GitHub could not be asked; the message says why"),
                    **not_found, **errors,
                },
            }
        },
    }
