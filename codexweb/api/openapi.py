"""The OpenAPI 3.1 description of /api/v1/, served at /api/v1/openapi.json.

Tests validate real responses against it (tests/api/test_tasks_api.py), so it cannot drift from
the code unnoticed. Written with the constructors of openapi_parts.py; the Review, re-verification
and webhook parts live in their own modules and are merged here.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from codexweb.api import openapi_review, openapi_webhooks
from codexweb.api import openapi_verification as verification
from codexweb.api.openapi_parts import (
    BOOLEAN,
    GITHUB_DOWN,
    INTEGER,
    NULLABLE_TIME,
    STATUS,
    STRING,
    TIME,
    Schema,
    array_of,
    described,
    endpoint,
    obj,
    page_of,
    page_params,
    paths,
    plain,
    query,
    results_of,
    switch,
    text,
)

_MODES = {"type": "string", "enum": ["ask", "code", "review"]}
_TIERS = ["strong", "fast"]
_PROMPT = {"type": "string", "minLength": 1, "maxLength": 20000}
_CREDENTIAL_KINDS = {"type": "string", "enum": ["header", "bearer", "basic"]}
_APPROVAL_SCOPES = ["attempt", "repository"]

_SCHEMAS: dict[str, Any] = {
    "Error": obj(
        {
            "error": text("what went wrong, for people"),
            "code": text("stable machine-readable code"),
        },
        optional={"details": array_of(obj({"field": STRING, "message": STRING}))},
    ),
    "Attempt": obj(
        {
            "id": INTEGER,
            "task": INTEGER,
            "index": INTEGER,
            "status": {"type": "string", "enum": STATUS},
            "finished": BOOLEAN,
            "error": STRING,
            "summary": STRING,
            "has_patch": BOOLEAN,
            "input_tokens": INTEGER,
            "output_tokens": INTEGER,
            "last_seq": INTEGER,
            "created_at": TIME,
        },
        optional={
            "parent": {"type": ["integer", "null"]},
            "kind": described({"type": "string", "enum": ["work", "resolve"]},
                              "resolve: rebases its parent's changes onto the branch"),
            "base_commit": text("the commit its patch is taken against"),
            "started_at": NULLABLE_TIME,
            "finished_at": NULLABLE_TIME,
        },
    ),
    "Task": obj(
        {
            "id": INTEGER,
            "team": STRING,
            "repository": STRING,
            "author": STRING,
            "mode": _MODES,
            "title": STRING,
            "prompt": STRING,
            "branch": STRING,
            "model": {"type": "string", "enum": _TIERS},
            "status": {"type": "string", "enum": STATUS},
            "finished": BOOLEAN,
            "attempt_count": INTEGER,
            "created_at": TIME,
            "web_url": STRING,
        },
        optional={
            "finished_at": NULLABLE_TIME,
            "pull_request": described({"type": ["integer", "null"]},
                                      "the open pull request it started from"),
            "attempts": array_of("Attempt"),
            "images": described(array_of("Image"),
                                "images attached to the prompt (with a single task)"),
        },
    ),
    "Image": obj(
        {
            "id": INTEGER,
            "name": STRING,
            "media_type": {"type": "string",
                           "enum": ["image/png", "image/jpeg", "image/webp", "image/gif"]},
            "width": INTEGER,
            "height": INTEGER,
            "size": described(INTEGER, "bytes"),
            "web_url": text("the image, for signed-in members"),
        }
    ),
    "TaskCreate": obj(
        {
            "repository": {"oneOf": [text("owner/name"), INTEGER]},
            "mode": _MODES,
            "prompt": _PROMPT,
        },
        optional={
            "team": described({"type": ["string", "null"]}, "team slug if ambiguous"),
            "branch": STRING,
            "pull_request": {
                "oneOf": [STRING, INTEGER, {"type": "null"}],
                "description": "an open pull request of the repository (number or URL) to "
                               "start from: its head branch is checked out; a fork's is refused",
            },
            "attempts": {"type": "integer", "minimum": 1, "maximum": 4, "default": 1},
            "model": {"type": "string", "enum": _TIERS, "default": "strong"},
            "images": described(array_of("ImageUpload"),
                                "sent to the model with the prompt; limits: IMAGE_MAX_COUNT "
                                "images of IMAGE_MAX_BYTES each. A model tier that takes no "
                                "images answers 400 `images_not_accepted`"),
            **openapi_review.TASK_CREATE_FIELDS,
        },
        closed=True,
    ),
    "ImageUpload": obj(
        {"data": {"type": "string", "contentEncoding": "base64",
                  "description": "the file's bytes, standard base64 without a data: prefix"}},
        optional={"name": {"type": "string", "maxLength": 255, "description": "file name, shown"}},
        closed=True,
        description="A PNG, JPEG, WebP or GIF image. Its type is decided by decoding the "
        "bytes, never by `name`; anything else answers 400 `invalid_image`.",
    ),
    "FollowUpCreate": obj(
        {"prompt": _PROMPT},
        optional={
            "images": array_of("ImageUpload"),
            "update_pr": switch("when it succeeds, push it to the parent's open PR"),
        },
        closed=True,
    ),
    **openapi_review.SCHEMAS,
    "Event": obj(
        {
            "seq": INTEGER,
            "kind": STRING,
            "payload": {"type": "object", "description": "see tasks/event_kinds.py"},
            "created_at": TIME,
        }
    ),
    "EventPage": obj(
        {
            "attempt": INTEGER,
            "events": array_of("Event"),
            "next_after": INTEGER,
            "finished": described(BOOLEAN, "true once the log is complete"),
        }
    ),
    "TaskPage": page_of("Task"),
    "PullRequest": obj(
        {
            "attempt": described(INTEGER, "the attempt's id"),
            "state": {
                "type": "string",
                "enum": ["creating", "open", "closed", "merged", "failed", "pushed"],
                "description": "creating: a job is opening it; failed: see error; pushed: "
                               "pushed onto the task's branch, which has no open PR",
            },
            "url": text("the pull request's page; empty until open"),
            "number": {"type": ["integer", "null"]},
            "branch": STRING,
            "error": text("why it failed, for people"),
            "updates_attempt": described(
                {"type": ["integer", "null"]},
                "a follow-up of an attempt whose PR is open pushes to that PR (same number, "
                "url and branch): the parent attempt's id",
            ),
            "poll_url": text("GET it for the state now"),
            "resolution": described(
                {"oneOf": [{"type": "null"}, obj({
                    "attempt": INTEGER,
                    "index": INTEGER,
                    "state": {"type": "string", "enum": ["running", "pushed", "failed"]},
                })]},
                "a conflict refusal's newest resolve attempt: running (it or its push is under "
                "way), pushed (done: no retry to offer) or failed (offer it again)",
            ),
        },
        optional={
            "pushed_to_branch": described(BOOLEAN, "Push to branch: onto the task's own branch"),
            "resolvable": described(BOOLEAN, "failed on a conflict with the branch: POST "
                                             "/attempts/{pk}/resolve"),
            "head_sha": text("the commit pushed"),
        },
    ),
    "SteerMessage": obj(
        {
            "id": INTEGER,
            "attempt": INTEGER,
            "text": STRING,
            "stop": BOOLEAN,
            "by": text("who sent it"),
            "created_at": TIME,
            "taken_at": described(NULLABLE_TIME, "when the agent read it; null: not yet"),
        }
    ),
    "SteerCreate": obj(
        {},
        optional={
            "text": {"type": "string", "maxLength": 20000,
                     "description": "what the agent should know; may be empty with stop"},
            "stop": switch("end the attempt after its current step, keeping its changes"),
        },
        closed=True,
    ),
    "EgressApproval": obj(
        {
            "id": INTEGER,
            "attempt": INTEGER,
            "host": STRING,
            "scope": {"type": "string", "enum": _APPROVAL_SCOPES},
            "by": text("who approved"),
            "created_at": TIME,
            "applied_at": described(NULLABLE_TIME, "when the proxy took it; null: not yet"),
        }
    ),
    "EgressApprovalCreate": obj(
        {"host": {"type": "string", "maxLength": 253,
                  "description": "a host the proxy refused for this attempt"}},
        optional={
            "scope": {"type": "string", "enum": _APPROVAL_SCOPES, "default": "attempt",
                      "description": "attempt: allow once for this attempt; repository: also "
                      "add it to the repository's allowlist (team admins only)"},
        },
        closed=True,
    ),
    "EgressRequest": obj(
        {
            "at": described(NULLABLE_TIME, "when the proxy decided"),
            "method": text("HTTP method; CONNECT for a tunnel, TCP for raw TCP"),
            "host": STRING,
            "url": text("without its query; host:port for a tunnel"),
            "allowed": BOOLEAN,
            "reason": STRING,
            "approvable": described(BOOLEAN, "a refusal a person may lift for this attempt"),
        }
    ),
    "EgressRecordOut": obj(
        {
            "attempt": INTEGER,
            "requests": array_of("EgressRequest"),
            "approvals": array_of("EgressApproval"),
        }
    ),
    "Repository": obj(
        {
            "id": INTEGER,
            "full_name": STRING,
            "team": STRING,
            "default_branch": STRING,
            "visibility": STRING,
        }
    ),
    "Credential": obj(
        {
            "id": INTEGER,
            "name": STRING,
            "domain": text("host, or *.suffix"),
            "kind": _CREDENTIAL_KINDS,
            "header": text("the header the proxy sets"),
            "path_prefix": STRING,
            "allow_http": BOOLEAN,
            "updated_at": TIME,
            "last_used_at": NULLABLE_TIME,
            "reachable": described(BOOLEAN, "the agent phase's internet policy allows the "
                                            "domain (a credential never opens egress by itself)"),
        }
    ),
    "CredentialIn": obj(
        {
            "name": {"type": "string", "maxLength": 100},
            "domain": {"type": "string", "maxLength": 255},
            "kind": _CREDENTIAL_KINDS,
        },
        optional={
            "header_name": text("kind=header: e.g. X-Api-Key"),
            "value": text("kind=header: the value; kind=bearer: the token. Write-only."),
            "username": text("kind=basic"),
            "password": text("kind=basic. Write-only."),
            "path_prefix": {"type": "string", "default": "/"},
            "allow_http": switch(),
        },
    ),
}

_ME = obj({"username": STRING, "teams": array_of(obj({"slug": STRING, "name": STRING}))})
_PULL_REQUEST_IN = obj(
    {},
    optional={
        "attempt": {"type": ["integer", "null"], "minimum": 1},
        "draft": {"type": ["boolean", "null"]},
    },
    closed=True,
)
_BAD_PARAMETER = "Bad parameter"
_BAD_IMAGES = "Invalid payload or image, or the model takes no images"
_TOO_LARGE = "The request body is too large"
_AT_MOST_100 = query("limit", {"type": "integer", "minimum": 1, "maximum": 100}, "at most")
_AFTER = query("after", {"type": "integer", "minimum": 0}, "last seq seen")
_LAST_EVENT_ID = {"name": "Last-Event-ID", "in": "header", "required": False, "schema": STRING}
_TASK_FILTERS = [
    query("team", STRING, "team slug"),
    query("status", {"type": "string", "enum": STATUS}, "status"),
    query("mode", _MODES, "mode"),
    query("repository", STRING, "owner/name"),
    query("author", STRING, "username"),
    query("q", STRING, "words that must occur in the prompt"),
    query("since", {"type": "string", "format": "date"},
          "created on or after this day (YYYY-MM-DD, server time zone)"),
    query("until", {"type": "string", "format": "date"}, "created on or before this day"),
]


_PATHS = paths(
    endpoint("GET /me", "me", "The token's owner and their teams", {200: (_ME, "You")}),
    endpoint("GET /repositories/{pk}/credentials", "listCredentials",
             "Credentials the egress proxy adds for this repository (team admins; values are "
             "never returned)", {200: (results_of("Credential"), "Credentials")}),
    endpoint("POST /repositories/{pk}/credentials", "setCredential",
             "Add a credential, or replace the one of that name (audited)",
             {201: ("Credential", "Saved"), 400: "Unusable credential"}, body="CredentialIn"),
    endpoint("DELETE /repositories/{pk}/credentials/{credential_id}", "deleteCredential",
             "Delete a credential (audited)", {204: {"description": "Deleted"}}),
    endpoint("GET /repositories", "listRepositories", "Repositories of your teams",
             {200: (results_of("Repository"), "Repositories"), 400: _BAD_PARAMETER},
             params=[query("q", STRING, "words of owner/name"), _AT_MOST_100]),
    endpoint("GET /tasks", "listTasks", "List tasks of your teams, newest first",
             {200: ("TaskPage", "A page of tasks"), 400: _BAD_PARAMETER},
             params=[*_TASK_FILTERS, *page_params()]),
    endpoint("POST /tasks", "createTask", "Create a task (its attempts are queued)",
             {201: ("Task", "The new task, with its attempts"), 400: _BAD_IMAGES,
              413: _TOO_LARGE, 404: "No such repository", 409: "Repository name is ambiguous"},
             body="TaskCreate"),
    endpoint("GET /tasks/{pk}", "getTask", "A task with its attempts", {200: ("Task", "The task")}),
    endpoint("POST /tasks/{pk}/cancel", "cancelTask", "Cancel every unfinished attempt",
             {200: ("Task", "The task after cancelling"), 409: "Already finished"}),
    endpoint("POST /tasks/{pk}/pr", "createPullRequest",
             "Open a pull request from an attempt's patch (a job opens it: poll `poll_url`, "
             "also in Location, until `state` is no longer creating)",
             {200: ("PullRequest", "The attempt's pull request exists"),
              202: ("PullRequest", "Accepted: being created"),
              409: "Nothing to open a PR with, or no push access", 502: GITHUB_DOWN},
             body=_PULL_REQUEST_IN, body_required=False),
    endpoint("GET /attempts/{pk}/pr", "getPullRequest", "The attempt's pull request as it is now",
             {200: ("PullRequest", "The pull request record")}),
    endpoint("GET /attempts/{pk}", "getAttempt", "An attempt", {200: ("Attempt", "The attempt")}),
    endpoint("POST /attempts/{pk}/cancel", "cancelAttempt", "Cancel an attempt",
             {200: ("Attempt", "The cancelled attempt"), 409: "Already finished"}),
    endpoint("POST /attempts/{pk}/push", "pushAttempt",
             "Push the attempt's changes onto the branch its task started from",
             {200: ("PullRequest", "Pushed already, or being pushed"),
              202: ("PullRequest", "Accepted: being pushed"),
              409: "Nothing to push, or no push access", 502: GITHUB_DOWN},
             description="A fast-forward only: when the branch moved since the attempt started "
             "nothing is pushed and the record fails with `resolvable` true. When the branch has "
             "an open pull request the record becomes that PR's."),
    endpoint("POST /attempts/{pk}/resolve", "resolveAttempt",
             "Resolve with the agent: rebase the attempt's changes onto the current branch in a "
             "new attempt", {201: ("Attempt", "The new, queued resolve attempt"),
                             409: "No finished changes, no recorded base, or no access"}),
    endpoint("POST /attempts/{pk}/retry", "retryAttempt",
             "Run a failed or cancelled attempt again, as a new attempt",
             {201: ("Attempt", "The new, queued attempt"),
              409: "Not failed or cancelled, no access, or too many attempts"}),
    endpoint("POST /attempts/{pk}/messages", "steerAttempt",
             "Message a running attempt's agent, or ask it to stop after this step",
             {201: ("SteerMessage", "The message, queued for the agent"), 400: "Empty or too long",
              403: "You may not act on this repository now",
              409: "The attempt has finished; send a follow-up instead"},
             body="SteerCreate",
             description="The agent reads the message at its next turn boundary; the log shows "
             "it there as a `steer` event. A finished attempt answers 409: start a follow-up "
             "instead."),
    endpoint("POST /attempts/{pk}/follow-up", "followUpAttempt",
             "Continue a finished attempt with a new instruction and images",
             {201: ("Attempt", "The new, queued attempt"), 400: _BAD_IMAGES,
              409: "Still running, no access, or too many attempts", 413: _TOO_LARGE},
             body="FollowUpCreate",
             description="A new attempt (parent = this one) continues from its final tree and "
             "conversation; the images go to the model with the instruction."),
    endpoint("POST /attempts/{pk}/egress-approvals", "approveEgress",
             "Let a running attempt reach a host its egress proxy refused",
             {201: ("EgressApproval", "The approval, queued for the proxy"),
              400: "Not a host this attempt was refused, or a bad request",
              403: "You may not act on this repository, or are not a team admin",
              409: "Nothing can be approved: finished, internet off or on"},
             body="EgressApprovalCreate",
             description="Allow once for this attempt (anyone who may steer it) or also add the "
             "host to the repository's allowlist (team admins). The proxy lets it through from "
             "the next request on; the agent is told in its next tool result. Audited; shown in "
             "the log as an `egress_approval` event."),
    endpoint("GET /attempts/{pk}/egress", "getEgressRecord",
             "The attempt's egress record: every request decided, and approvals",
             {200: ("EgressRecordOut", "Requests oldest first")}),
    endpoint("GET /attempts/{pk}/events", "listEvents",
             "A page of the attempt's events after a seq",
             {200: ("EventPage", "Events"), 400: _BAD_PARAMETER},
             params=[_AFTER, query("limit", {"type": "integer", "minimum": 1, "maximum": 1000},
                                   "at most")]),
    endpoint("GET /attempts/{pk}/events/stream", "streamEvents",
             "Live events as Server-Sent Events (id = seq; ends with an `end` event, or "
             "`forbidden` when the caller loses access to the attempt)",
             {200: plain("text/event-stream", "An event stream")}, params=[_AFTER, _LAST_EVENT_ID]),
    endpoint("GET /attempts/{pk}/patch", "getPatch", "The attempt's patch (git diff), plain text",
             {200: plain("text/x-diff", "Unified diff, possibly empty"),
              409: "The attempt has not finished"}),
)


def openapi_document() -> dict[str, Any]:
    schemas: dict[str, Schema] = {**_SCHEMAS, **verification.SCHEMAS, **openapi_webhooks.SCHEMAS}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "codexweb API",
            "version": "1",
            "description": "Personal API tokens (Settings → API tokens) as "
            "`Authorization: Bearer <token>`. Errors are JSON "
            '`{"error", "code"}`. Rate limit: '
            f"{settings.API_RATE_LIMIT_PER_MINUTE} requests per minute per token.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
        },
        "paths": {**_PATHS, **verification.PATHS, **openapi_review.PATHS,
                  **openapi_webhooks.PATHS},
    }
