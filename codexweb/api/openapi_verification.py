"""The OpenAPI description of the re-verification endpoints (merged into openapi.py's
document)."""

from __future__ import annotations

from typing import Any

from codexweb.api import openapi_parts as oa

_VERDICTS = ["passed", "no_checks", "checks_failed", "unverified", "not_applied", "no_patch", None]

_CHECK = oa.obj(
    {"command": oa.STRING},
    optional={
        "exit_code": oa.described({"type": ["integer", "null"]}, "null: killed or not run"),
        "timed_out": oa.BOOLEAN,
        "output_tail": oa.text("the last few thousand characters"),
        "duration": {"type": "number"},
        "error": oa.STRING,
        "running": oa.described(oa.BOOLEAN, "true while this command runs"),
    },
)

SCHEMAS: dict[str, Any] = {
    "Verification": oa.obj(
        {
            "verification_id": oa.INTEGER,
            "attempt_id": oa.INTEGER,
            "attempt_index": oa.INTEGER,
            "status": {"type": "string", "enum": ["queued", "running", "done"]},
            "verdict": {
                "type": ["string", "null"],
                "enum": _VERDICTS,
                "description": "best first: passed > no_checks > checks_failed > "
                "unverified > not_applied > no_patch; null until done",
            },
            "verdict_text": {"type": ["string", "null"]},
            "rank": oa.described(
                {"type": ["integer", "null"]},
                "1 is best; null: pending, or a combined patch (never ranked)",
            ),
            "rank_reason": oa.STRING,
            "reason": oa.text("the verdict and its evidence"),
            "patch_lines": oa.INTEGER,
            "commands": oa.array_of(oa.STRING),
            "commands_source": oa.STRING,
            "results": oa.array_of(_CHECK),
            "hunks": oa.described(oa.array_of(oa.STRING),
                                  "a combined patch's hunk ids; empty for an attempt's own"),
            "runs": oa.described(oa.INTEGER,
                                 "times a worker took it (2 after a worker died mid-run)"),
            "stopping": oa.described(oa.BOOLEAN,
                                     "a person asked to stop it; it ends as unverified"),
        }
    ),
    "Ranking": oa.obj(
        {
            "task_id": oa.INTEGER,
            "running": oa.described(oa.BOOLEAN, "poll again while true"),
            "attempts": oa.described(oa.array_of("Verification"), "best first; pending ones last"),
            "combined": oa.array_of("Verification"),
        }
    ),
    "CombineCreate": oa.obj(
        {
            "hunks": {
                "type": "array",
                "minItems": 1,
                "maxItems": 500,
                "items": {"type": "string", "pattern": "^[0-9]+:[0-9]+:[0-9]+$"},
                "description": "hunk ids: attempt id, file index, hunk index in that "
                "attempt's patch (as the task page's diff numbers them)",
            },
        },
        closed=True,
    ),
}

PATHS = oa.paths(
    oa.endpoint("GET /tasks/{pk}/ranking", "getRanking",
             "The best-of-N ranking: each attempt's patch re-verified in a fresh container, "
             "best first, with the commands run and their output",
             {200: ("Ranking", "The ranking as it is now")}),
    oa.endpoint("POST /tasks/{pk}/verifications/{verification_pk}/stop", "stopVerification",
             "Stop one patch's re-verification: a queued one ends at once, a running one within "
             "seconds; it ends as unverified, saying who stopped it",
             {200: ("Verification", "The verification: done, or still running while it stops"),
              409: "It has already ended"}),
    oa.endpoint("POST /tasks/{pk}/combine", "combineHunks",
             "Combine hunks of the attempts into one patch (a new attempt), verified before "
             "Create PR accepts it",
             {201: ("Verification", "The combined patch's verification"),
              400: "Not a list of hunk ids",
              409: "Overlapping or unknown hunks, or attempts still running"},
             body="CombineCreate"),
)
