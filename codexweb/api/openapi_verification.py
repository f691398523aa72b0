"""The OpenAPI description of the re-verification endpoints; openapi.py merges `schemas()` and
`paths()` into the document (they use its helpers, imported when called)."""

from __future__ import annotations

from typing import Any

_VERDICTS = ["passed", "no_checks", "checks_failed", "unverified", "not_applied", "no_patch", None]

_CHECK = {
    "type": "object",
    "required": ["command"],
    "properties": {
        "command": {"type": "string"},
        "exit_code": {"type": ["integer", "null"], "description": "null: killed or not run"},
        "timed_out": {"type": "boolean"},
        "output_tail": {"type": "string", "description": "the last few thousand characters"},
        "duration": {"type": "number"},
        "error": {"type": "string"},
        "running": {"type": "boolean", "description": "true while this command runs"},
    },
}


def schemas() -> dict[str, Any]:
    from codexweb.api.openapi import _ref

    return {
        "Verification": {
            "type": "object",
            "required": [
                "verification_id",
                "attempt_id",
                "attempt_index",
                "status",
                "verdict",
                "verdict_text",
                "rank",
                "rank_reason",
                "reason",
                "patch_lines",
                "commands",
                "commands_source",
                "results",
                "hunks",
                "runs",
            ],
            "properties": {
                "verification_id": {"type": "integer"},
                "attempt_id": {"type": "integer"},
                "attempt_index": {"type": "integer"},
                "status": {"type": "string", "enum": ["queued", "running", "done"]},
                "verdict": {
                    "type": ["string", "null"],
                    "enum": _VERDICTS,
                    "description": "best first: passed > no_checks > checks_failed > "
                    "unverified > not_applied > no_patch; null until done",
                },
                "verdict_text": {"type": ["string", "null"]},
                "rank": {
                    "type": ["integer", "null"],
                    "description": "1 is best; null: pending, or a combined patch (never ranked)",
                },
                "rank_reason": {"type": "string"},
                "reason": {"type": "string", "description": "the verdict and its evidence"},
                "patch_lines": {"type": "integer"},
                "commands": {"type": "array", "items": {"type": "string"}},
                "commands_source": {"type": "string"},
                "results": {"type": "array", "items": _CHECK},
                "hunks": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "a combined patch's hunk ids; empty for an attempt's own",
                },
                "runs": {
                    "type": "integer",
                    "description": "times a worker took it (2 after a worker died mid-run)",
                },
            },
        },
        "Ranking": {
            "type": "object",
            "required": ["task_id", "running", "attempts", "combined"],
            "properties": {
                "task_id": {"type": "integer"},
                "running": {"type": "boolean", "description": "poll again while true"},
                "attempts": {
                    "type": "array",
                    "items": _ref("Verification"),
                    "description": "best first; pending ones last",
                },
                "combined": {"type": "array", "items": _ref("Verification")},
            },
        },
        "CombineCreate": {
            "type": "object",
            "additionalProperties": False,
            "required": ["hunks"],
            "properties": {
                "hunks": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 500,
                    "items": {"type": "string", "pattern": "^[0-9]+:[0-9]+:[0-9]+$"},
                    "description": "hunk ids: attempt id, file index, hunk index in that "
                    "attempt's patch (as the task page's diff numbers them)",
                },
            },
        },
    }


def paths() -> dict[str, Any]:
    from codexweb.api.openapi import _ERRORS as errors
    from codexweb.api.openapi import _ID, _json, _ref
    from codexweb.api.openapi import _NOT_FOUND as not_found
    from codexweb.api.openapi import _error as error

    return {
        "/tasks/{pk}/ranking": {
            "get": {
                "summary": "The best-of-N ranking: each attempt's patch re-verified in a fresh "
                "container, best first, with the commands run and their output",
                "operationId": "getRanking",
                "parameters": _ID,
                "responses": {
                    "200": _json(_ref("Ranking"), "The ranking as it is now"),
                    **not_found,
                    **errors,
                },
            }
        },
        "/tasks/{pk}/combine": {
            "post": {
                "summary": "Combine hunks of the attempts into one patch (a new attempt), "
                "verified before Create PR accepts it",
                "operationId": "combineHunks",
                "parameters": _ID,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("CombineCreate")}},
                },
                "responses": {
                    "201": _json(_ref("Verification"), "The combined patch's verification"),
                    "400": error("Not a list of hunk ids"),
                    "409": error("Overlapping or unknown hunks, or attempts still running"),
                    **not_found,
                    **errors,
                },
            }
        },
    }
