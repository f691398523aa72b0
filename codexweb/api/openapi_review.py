"""The Review parts of the OpenAPI description (merged into openapi.py's document)."""

from __future__ import annotations

from typing import Any

from codexweb.api import openapi_parts as oa

_CITATION = oa.obj(
    {
        "raw": oa.STRING,
        "kind": {"type": "string", "enum": ["F", "T"]},
        "target": oa.STRING,
        "start": oa.INTEGER,
        "end": oa.INTEGER,
        "valid": oa.described(oa.BOOLEAN, "the worker's verdict"),
        "reason": oa.STRING,
    }
)
_FINDING = oa.obj(
    {
        "file": oa.STRING,
        "line": oa.described(oa.INTEGER, "in the new version"),
        "severity": {"type": "string", "enum": ["blocker", "major", "minor", "nit"]},
        "explanation": oa.STRING,
        "citations": oa.array_of(_CITATION),
    }
)

TASK_CREATE_FIELDS: dict[str, Any] = {
    "pull": {"type": ["integer", "null"], "minimum": 1,
             "description": "review: a pull request number of the repository"},
    "review_branch": {"type": "string", "description": "review: a branch, against `branch`"},
    "review_attempt": {"type": ["integer", "null"], "minimum": 1,
                       "description": "review: an attempt's id (its own diff)"},
}

SCHEMAS: dict[str, Any] = {
    "Review": oa.obj(
        {
            "attempt": oa.INTEGER,
            "answered": oa.described(oa.BOOLEAN, "the agent gave a findings block"),
            "summary": oa.STRING,
            "findings": oa.array_of(_FINDING),
            "malformed": oa.array_of(oa.obj({"text": oa.STRING, "problem": oa.STRING})),
            "base_sha": oa.STRING,
            "head_sha": oa.STRING,
            "pull": {"type": ["integer", "null"]},
            "post_state": {"type": "string", "enum": ["", "posting", "posted", "failed"]},
            "post_event": oa.described(
                {"type": "string", "enum": ["", "COMMENT", "APPROVE", "REQUEST_CHANGES"]},
                "how it is (to be) posted; the person's last choice",
            ),
            "post_url": oa.STRING,
            "post_error": oa.STRING,
            "poll_url": oa.STRING,
        }
    ),
}

_REVIEW_POST_IN = oa.obj(
    {},
    optional={"event": {"type": "string", "enum": ["COMMENT", "APPROVE", "REQUEST_CHANGES"]}},
    closed=True,
)

PATHS = oa.paths(
    oa.endpoint("GET /attempts/{pk}/review", "getReview",
             "A Review attempt's findings, and whether they were posted",
             {200: ("Review", "The review")}),
    oa.endpoint("POST /attempts/{pk}/review/post", "postReview",
             "Post a review of a pull request (or of a branch, to that branch's open pull "
             "request) as a GitHub review with line comments, as COMMENT, APPROVE or "
             "REQUEST_CHANGES (a job posts it: poll `poll_url` until `post_state` is not "
             "posting)",
             {200: ("Review", "Posted already"), 202: ("Review", "Accepted: being posted"),
              400: "Invalid payload",
              409: "Not a finished review of a pull request, or no access", 502: oa.GITHUB_DOWN},
             body=_REVIEW_POST_IN, body_required=False),
)
