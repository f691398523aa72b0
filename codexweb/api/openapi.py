"""The OpenAPI 3.1 description of /api/v1/, served at /api/v1/openapi.json.

Tests validate real responses against it (tests/api/test_openapi.py), so it cannot drift from
the code unnoticed.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from codexweb.api import openapi_review, openapi_webhooks
from codexweb.api import openapi_verification as verification

_STATUS = ["queued", "running", "succeeded", "failed", "cancelled", "stopped"]
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _object(required: dict[str, Any], *, optional: dict[str, Any] | None = None) -> dict[str, Any]:
    """An object schema with `required` properties (each named once) and `optional` ones."""
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **(optional or {})},
    }


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


_ERRORS = {
    "401": _error("Missing, invalid or revoked token"),
    "429": _error("Rate limit exceeded; see Retry-After"),
}
_NOT_FOUND = {"404": _error("No such object in your teams")}
_ID = [{"name": "pk", "in": "path", "required": True, "schema": {"type": "integer"}}]

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "code"],
        "properties": {
            "error": {"type": "string", "description": "what went wrong, for people"},
            "code": {"type": "string", "description": "stable machine-readable code"},
            "details": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
    },
    "Attempt": _object(
        {
            "id": {"type": "integer"},
            "task": {"type": "integer"},
            "index": {"type": "integer"},
            "status": {"type": "string", "enum": _STATUS},
            "finished": {"type": "boolean"},
            "error": {"type": "string"},
            "summary": {"type": "string"},
            "has_patch": {"type": "boolean"},
            "input_tokens": {"type": "integer"},
            "output_tokens": {"type": "integer"},
            "last_seq": {"type": "integer"},
            "created_at": {"type": "string", "format": "date-time"},
        },
        optional={
            "parent": {"type": ["integer", "null"]},
            "kind": {"type": "string", "enum": ["work", "resolve"],
                     "description": "resolve: rebases its parent's changes onto the branch"},
            "base_commit": {"type": "string",
                            "description": "the commit its patch is taken against"},
            "started_at": _NULLABLE_TIME,
            "finished_at": _NULLABLE_TIME,
        },
    ),
    "Task": _object(
        {
            "id": {"type": "integer"},
            "team": {"type": "string"},
            "repository": {"type": "string"},
            "author": {"type": "string"},
            "mode": {"type": "string", "enum": ["ask", "code", "review"]},
            "title": {"type": "string"},
            "prompt": {"type": "string"},
            "branch": {"type": "string"},
            "model": {"type": "string", "enum": ["strong", "fast"]},
            "status": {"type": "string", "enum": _STATUS},
            "finished": {"type": "boolean"},
            "attempt_count": {"type": "integer"},
            "created_at": {"type": "string", "format": "date-time"},
            "web_url": {"type": "string"},
        },
        optional={
            "finished_at": _NULLABLE_TIME,
            "pull_request": {"type": ["integer", "null"],
                             "description": "the open pull request it started from"},
            "attempts": {"type": "array", "items": _ref("Attempt")},
            "images": {"type": "array", "items": _ref("Image"),
                       "description": "images attached to the prompt (with a single task)"},
        },
    ),
    "Image": _object(
        {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "media_type": {"type": "string",
                           "enum": ["image/png", "image/jpeg", "image/webp", "image/gif"]},
            "width": {"type": "integer"},
            "height": {"type": "integer"},
            "size": {"type": "integer", "description": "bytes"},
            "web_url": {"type": "string", "description": "the image, for signed-in members"},
        }
    ),
    "TaskCreate": {
        "type": "object",
        "required": ["repository", "mode", "prompt"],
        "additionalProperties": False,
        "properties": {
            "repository": {
                "oneOf": [{"type": "string", "description": "owner/name"}, {"type": "integer"}]
            },
            "team": {"type": ["string", "null"], "description": "team slug if ambiguous"},
            "mode": {"type": "string", "enum": ["ask", "code", "review"]},
            "prompt": {"type": "string", "minLength": 1, "maxLength": 20000},
            "branch": {"type": "string"},
            "pull_request": {
                "oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}],
                "description": "an open pull request of the repository (number or URL) to "
                               "start from: its head branch is checked out; a fork's is refused",
            },
            "attempts": {"type": "integer", "minimum": 1, "maximum": 4, "default": 1},
            "model": {"type": "string", "enum": ["strong", "fast"], "default": "strong"},
            "images": {"type": "array", "items": _ref("ImageUpload"),
                       "description": "sent to the model with the prompt; limits: "
                       "IMAGE_MAX_COUNT images of IMAGE_MAX_BYTES each. A model tier that "
                       "takes no images answers 400 `images_not_accepted`"},
            **openapi_review.TASK_CREATE_FIELDS,
        },
    },
    "ImageUpload": {
        "type": "object",
        "required": ["data"],
        "additionalProperties": False,
        "description": "A PNG, JPEG, WebP or GIF image. Its type is decided by decoding the "
        "bytes, never by `name`; anything else answers 400 `invalid_image`.",
        "properties": {
            "name": {"type": "string", "maxLength": 255, "description": "file name, shown"},
            "data": {"type": "string", "contentEncoding": "base64",
                     "description": "the file's bytes, standard base64 without a data: prefix"},
        },
    },
    "FollowUpCreate": {
        "type": "object",
        "required": ["prompt"],
        "additionalProperties": False,
        "properties": {
            "prompt": {"type": "string", "minLength": 1, "maxLength": 20000},
            "images": {"type": "array", "items": _ref("ImageUpload")},
            "update_pr": {"type": "boolean", "default": False,
                          "description": "when it succeeds, push it to the parent's open PR"},
        },
    },
    **openapi_review.SCHEMAS,
    "Event": {
        "type": "object",
        "required": ["seq", "kind", "payload", "created_at"],
        "properties": {
            "seq": {"type": "integer"},
            "kind": {"type": "string"},
            "payload": {"type": "object", "description": "see tasks/event_kinds.py"},
            "created_at": {"type": "string", "format": "date-time"},
        },
    },
    "EventPage": {
        "type": "object",
        "required": ["attempt", "events", "next_after", "finished"],
        "properties": {
            "attempt": {"type": "integer"},
            "events": {"type": "array", "items": _ref("Event")},
            "next_after": {"type": "integer"},
            "finished": {"type": "boolean", "description": "true once the log is complete"},
        },
    },
    "TaskPage": {
        "type": "object",
        "required": ["results", "page", "page_size", "has_next"],
        "properties": {
            "results": {"type": "array", "items": _ref("Task")},
            "page": {"type": "integer"},
            "page_size": {"type": "integer"},
            "has_next": {"type": "boolean"},
        },
    },
    "PullRequest": {
        "type": "object",
        "required": ["attempt", "state", "url", "number", "branch", "error", "updates_attempt",
                     "poll_url"],
        "properties": {
            "attempt": {"type": "integer", "description": "the attempt's id"},
            "state": {
                "type": "string",
                "enum": ["creating", "open", "closed", "merged", "failed", "pushed"],
                "description": "creating: a job is opening it; failed: see error; pushed: "
                               "pushed onto the task's branch, which has no open PR",
            },
            "url": {"type": "string", "description": "the pull request's page; empty until open"},
            "number": {"type": ["integer", "null"]},
            "branch": {"type": "string"},
            "error": {"type": "string", "description": "why it failed, for people"},
            "updates_attempt": {
                "type": ["integer", "null"],
                "description": "a follow-up of an attempt whose PR is open pushes to that PR "
                               "(same number, url and branch): the parent attempt's id",
            },
            "poll_url": {"type": "string", "description": "GET it for the state now"},
            "pushed_to_branch": {"type": "boolean",
                                 "description": "Push to branch: onto the task's own branch"},
            "resolvable": {"type": "boolean",
                           "description": "failed on a conflict with the branch: POST "
                                          "/attempts/{pk}/resolve"},
            "head_sha": {"type": "string", "description": "the commit pushed"},
        },
    },
    "SteerMessage": _object(
        {
            "id": {"type": "integer"},
            "attempt": {"type": "integer"},
            "text": {"type": "string"},
            "stop": {"type": "boolean"},
            "by": {"type": "string", "description": "who sent it"},
            "created_at": {"type": "string", "format": "date-time"},
            "taken_at": {**_NULLABLE_TIME, "description": "when the agent read it; null: not yet"},
        }
    ),
    "SteerCreate": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "text": {"type": "string", "maxLength": 20000,
                     "description": "what the agent should know; may be empty with stop"},
            "stop": {"type": "boolean", "default": False,
                     "description": "end the attempt after its current step, keeping its changes"},
        },
    },
    "EgressApproval": _object(
        {
            "id": {"type": "integer"},
            "attempt": {"type": "integer"},
            "host": {"type": "string"},
            "scope": {"type": "string", "enum": ["attempt", "repository"]},
            "by": {"type": "string", "description": "who approved"},
            "created_at": {"type": "string", "format": "date-time"},
            "applied_at": {**_NULLABLE_TIME,
                           "description": "when the proxy took it; null: not yet"},
        }
    ),
    "EgressApprovalCreate": {
        "type": "object",
        "additionalProperties": False,
        "required": ["host"],
        "properties": {
            "host": {"type": "string", "maxLength": 253,
                     "description": "a host the proxy refused for this attempt"},
            "scope": {"type": "string", "enum": ["attempt", "repository"], "default": "attempt",
                      "description": "attempt: allow once for this attempt; repository: also "
                      "add it to the repository's allowlist (team admins only)"},
        },
    },
    "EgressRequest": _object(
        {
            "at": {**_NULLABLE_TIME, "description": "when the proxy decided"},
            "method": {"type": "string",
                       "description": "HTTP method; CONNECT for a tunnel, TCP for raw TCP"},
            "host": {"type": "string"},
            "url": {"type": "string", "description": "without its query; host:port for a tunnel"},
            "allowed": {"type": "boolean"},
            "reason": {"type": "string"},
            "approvable": {"type": "boolean",
                           "description": "a refusal a person may lift for this attempt"},
        }
    ),
    "EgressRecordOut": _object(
        {
            "attempt": {"type": "integer"},
            "requests": {"type": "array", "items": _ref("EgressRequest")},
            "approvals": {"type": "array", "items": _ref("EgressApproval")},
        }
    ),
    "Repository": {
        "type": "object",
        "required": ["id", "full_name", "team", "default_branch", "visibility"],
        "properties": {
            "id": {"type": "integer"},
            "full_name": {"type": "string"},
            "team": {"type": "string"},
            "default_branch": {"type": "string"},
            "visibility": {"type": "string"},
        },
    },
    "Credential": _object(
        {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "domain": {"type": "string", "description": "host, or *.suffix"},
            "kind": {"type": "string", "enum": ["header", "bearer", "basic"]},
            "header": {"type": "string", "description": "the header the proxy sets"},
            "path_prefix": {"type": "string"},
            "allow_http": {"type": "boolean"},
            "updated_at": {"type": "string", "format": "date-time"},
            "last_used_at": _NULLABLE_TIME,
            "reachable": {
                "type": "boolean",
                "description": "the agent phase's internet policy allows the domain (a "
                "credential never opens egress by itself)",
            },
        }
    ),
    "CredentialIn": _object(
        {
            "name": {"type": "string", "maxLength": 100},
            "domain": {"type": "string", "maxLength": 255},
            "kind": {"type": "string", "enum": ["header", "bearer", "basic"]},
        },
        optional={
            "header_name": {"type": "string", "description": "kind=header: e.g. X-Api-Key"},
            "value": {"type": "string", "description": "kind=header: the value; "
                      "kind=bearer: the token. Write-only."},
            "username": {"type": "string", "description": "kind=basic"},
            "password": {"type": "string", "description": "kind=basic. Write-only."},
            "path_prefix": {"type": "string", "default": "/"},
            "allow_http": {"type": "boolean", "default": False},
        },
    ),
}
_CREDENTIAL_ID = [
    *_ID,
    {"name": "credential_id", "in": "path", "required": True, "schema": {"type": "integer"}},
]


def _paths() -> dict[str, Any]:
    def q(name: str, schema: dict[str, Any], desc: str) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": False, "schema": schema,
                "description": desc}

    return {
        "/me": {
            "get": {
                "summary": "The token's owner and their teams",
                "operationId": "me",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["username", "teams"],
                            "properties": {
                                "username": {"type": "string"},
                                "teams": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["slug", "name"],
                                        "properties": {
                                            "slug": {"type": "string"},
                                            "name": {"type": "string"},
                                        },
                                    },
                                },
                            },
                        },
                        "You",
                    ),
                    **_ERRORS,
                },
            }
        },
        "/repositories/{pk}/credentials": {
            "get": {
                "summary": "Credentials the egress proxy adds for this repository (team admins; "
                "values are never returned)",
                "operationId": "listCredentials",
                "parameters": _ID,
                "responses": {
                    "200": _json(
                        _object({"results": {"type": "array", "items": _ref("Credential")}}),
                        "Credentials",
                    ),
                    **_NOT_FOUND,
                    **_ERRORS,
                },
            },
            "post": {
                "summary": "Add a credential, or replace the one of that name (audited)",
                "operationId": "setCredential",
                "parameters": _ID,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("CredentialIn")}},
                },
                "responses": {
                    "201": _json(_ref("Credential"), "Saved"),
                    "400": _error("Unusable credential"),
                    **_NOT_FOUND,
                    **_ERRORS,
                },
            },
        },
        "/repositories/{pk}/credentials/{credential_id}": {
            "delete": {
                "summary": "Delete a credential (audited)",
                "operationId": "deleteCredential",
                "parameters": _CREDENTIAL_ID,
                "responses": {"204": {"description": "Deleted"}, **_NOT_FOUND, **_ERRORS},
            }
        },
        "/repositories": {
            "get": {
                "summary": "Repositories of your teams",
                "operationId": "listRepositories",
                "parameters": [
                    q("q", {"type": "string"}, "words of owner/name"),
                    q("limit", {"type": "integer", "minimum": 1, "maximum": 100}, "at most"),
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["results"],
                            "properties": {
                                "results": {"type": "array", "items": _ref("Repository")}
                            },
                        },
                        "Repositories",
                    ),
                    "400": _error("Bad parameter"),
                    **_ERRORS,
                },
            }
        },
        "/tasks": {
            "get": {
                "summary": "List tasks of your teams, newest first",
                "operationId": "listTasks",
                "parameters": [
                    q("team", {"type": "string"}, "team slug"),
                    q("status", {"type": "string", "enum": _STATUS}, "status"),
                    q("mode", {"type": "string", "enum": ["ask", "code", "review"]}, "mode"),
                    q("repository", {"type": "string"}, "owner/name"),
                    q("author", {"type": "string"}, "username"),
                    q("q", {"type": "string"}, "words that must occur in the prompt"),
                    q("since", {"type": "string", "format": "date"}, "created on or after "
                      "this day (YYYY-MM-DD, server time zone)"),
                    q("until", {"type": "string", "format": "date"}, "created on or before "
                      "this day"),
                    q("page", {"type": "integer", "minimum": 1}, "page number"),
                    q("page_size", {"type": "integer", "minimum": 1, "maximum": 100}, "page size"),
                ],
                "responses": {
                    "200": _json(_ref("TaskPage"), "A page of tasks"),
                    "400": _error("Bad parameter"),
                    **_ERRORS,
                },
            },
            "post": {
                "summary": "Create a task (its attempts are queued)",
                "operationId": "createTask",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("TaskCreate")}},
                },
                "responses": {
                    "201": _json(_ref("Task"), "The new task, with its attempts"),
                    "400": _error("Invalid payload or image, or the model takes no images"),
                    "413": _error("The request body is too large"),
                    "404": _error("No such repository"),
                    "409": _error("Repository name is ambiguous"),
                    **_ERRORS,
                },
            },
        },
        "/tasks/{pk}": {
            "get": {
                "summary": "A task with its attempts",
                "operationId": "getTask",
                "parameters": _ID,
                "responses": {"200": _json(_ref("Task"), "The task"), **_NOT_FOUND, **_ERRORS},
            }
        },
        "/tasks/{pk}/cancel": {
            "post": {
                "summary": "Cancel every unfinished attempt",
                "operationId": "cancelTask",
                "parameters": _ID,
                "responses": {
                    "200": _json(_ref("Task"), "The task after cancelling"),
                    "409": _error("Already finished"),
                    **_NOT_FOUND,
                    **_ERRORS,
                },
            }
        },
        "/tasks/{pk}/pr": {
            "post": {
                "summary": "Open a pull request from an attempt's patch (a job opens it: poll "
                "`poll_url`, also in Location, until `state` is no longer creating)",
                "operationId": "createPullRequest",
                "parameters": _ID,
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "attempt": {"type": ["integer", "null"], "minimum": 1},
                                    "draft": {"type": ["boolean", "null"]},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(_ref("PullRequest"), "The attempt's pull request exists"),
                    "202": _json(_ref("PullRequest"), "Accepted: being created"),
                    "409": _error("Nothing to open a PR with, or no push access"),
                    "502": _error("GitHub could not be asked; the message says why"),
                    **_NOT_FOUND,
                    **_ERRORS,
                },
            }
        },
        "/attempts/{pk}/pr": {
            "get": {
                "summary": "The attempt's pull request as it is now",
                "operationId": "getPullRequest",
                "parameters": _ID,
                "responses": {
                    "200": _json(_ref("PullRequest"), "The pull request record"),
                    **_NOT_FOUND,
                    **_ERRORS,
                },
            }
        },
        "/attempts/{pk}": {
            "get": {
                "summary": "An attempt",
                "operationId": "getAttempt",
                "parameters": _ID,
                "responses": {
                    "200": _json(_ref("Attempt"), "The attempt"),
                    **_NOT_FOUND,
                    **_ERRORS,
                },
            }
        },
        "/attempts/{pk}/cancel": {
            "post": {
                "summary": "Cancel an attempt",
                "operationId": "cancelAttempt",
                "parameters": _ID,
                "responses": {
                    "200": _json(_ref("Attempt"), "The cancelled attempt"),
                    "409": _error("Already finished"),
                    **_NOT_FOUND,
                    **_ERRORS,
                },
            }
        },
        "/attempts/{pk}/push": {
            "post": {
                "summary": "Push the attempt's changes onto the branch its task started from",
                "description": "A fast-forward only: when the branch moved since the attempt "
                "started nothing is pushed and the record fails with `resolvable` true. When "
                "the branch has an open pull request the record becomes that PR's.",
                "operationId": "pushAttempt",
                "parameters": _ID,
                "responses": {
                    "200": _json(_ref("PullRequest"), "Pushed already, or being pushed"),
                    "202": _json(_ref("PullRequest"), "Accepted: being pushed"),
                    "409": _error("Nothing to push, or no push access"),
                    "502": _error("GitHub could not be asked; the message says why"),
                    **_NOT_FOUND,
                    **_ERRORS,
                },
            }
        },
        "/attempts/{pk}/resolve": {
            "post": {
                "summary": "Resolve with the agent: rebase the attempt's changes onto the "
                "current branch in a new attempt",
                "operationId": "resolveAttempt",
                "parameters": _ID,
                "responses": {
                    "201": _json(_ref("Attempt"), "The new, queued resolve attempt"),
                    "409": _error("No finished changes, no recorded base, or no access"),
                    **_NOT_FOUND,
                    **_ERRORS,
                },
            }
        },
        "/attempts/{pk}/retry": {
            "post": {
                "summary": "Run a failed or cancelled attempt again, as a new attempt",
                "operationId": "retryAttempt",
                "parameters": _ID,
                "responses": {
                    "201": _json(_ref("Attempt"), "The new, queued attempt"),
                    "409": _error("Not failed or cancelled, no access, or too many attempts"),
                    **_NOT_FOUND,
                    **_ERRORS,
                },
            }
        },
        "/attempts/{pk}/messages": {
            "post": {
                "summary": "Message a running attempt's agent, or ask it to stop after this step",
                "description": "The agent reads the message at its next turn boundary; the log "
                "shows it there as a `steer` event. A finished attempt answers 409: start a "
                "follow-up instead.",
                "operationId": "steerAttempt",
                "parameters": _ID,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("SteerCreate")}},
                },
                "responses": {
                    "201": _json(_ref("SteerMessage"), "The message, queued for the agent"),
                    "400": _error("Empty or too long"),
                    "403": _error("You may not act on this repository now"),
                    "409": _error("The attempt has finished; send a follow-up instead"),
                    **_NOT_FOUND,
                    **_ERRORS,
                },
            }
        },
        "/attempts/{pk}/follow-up": {
            "post": {
                "summary": "Continue a finished attempt with a new instruction and images",
                "description": "A new attempt (parent = this one) continues from its final tree "
                "and conversation; the images go to the model with the instruction.",
                "operationId": "followUpAttempt",
                "parameters": _ID,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("FollowUpCreate")}},
                },
                "responses": {
                    "201": _json(_ref("Attempt"), "The new, queued attempt"),
                    "400": _error("Invalid payload or image, or the model takes no images"),
                    "409": _error("Still running, no access, or too many attempts"),
                    "413": _error("The request body is too large"),
                    **_NOT_FOUND,
                    **_ERRORS,
                },
            }
        },
        "/attempts/{pk}/egress-approvals": {
            "post": {
                "summary": "Let a running attempt reach a host its egress proxy refused",
                "description": "Allow once for this attempt (anyone who may steer it) or also "
                "add the host to the repository's allowlist (team admins). The proxy lets it "
                "through from the next request on; the agent is told in its next tool result. "
                "Audited; shown in the log as an `egress_approval` event.",
                "operationId": "approveEgress",
                "parameters": _ID,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("EgressApprovalCreate")}},
                },
                "responses": {
                    "201": _json(_ref("EgressApproval"), "The approval, queued for the proxy"),
                    "400": _error("Not a host this attempt was refused, or a bad request"),
                    "403": _error("You may not act on this repository, or are not a team admin"),
                    "409": _error("Nothing can be approved: finished, internet off or on"),
                    **_NOT_FOUND,
                    **_ERRORS,
                },
            }
        },
        "/attempts/{pk}/egress": {
            "get": {
                "summary": "The attempt's egress record: every request decided, and approvals",
                "operationId": "getEgressRecord",
                "parameters": _ID,
                "responses": {
                    "200": _json(_ref("EgressRecordOut"), "Requests oldest first"),
                    **_NOT_FOUND,
                    **_ERRORS,
                },
            }
        },
        "/attempts/{pk}/events": {
            "get": {
                "summary": "A page of the attempt's events after a seq",
                "operationId": "listEvents",
                "parameters": [
                    *_ID,
                    q("after", {"type": "integer", "minimum": 0}, "last seq seen"),
                    q("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "at most"),
                ],
                "responses": {
                    "200": _json(_ref("EventPage"), "Events"),
                    "400": _error("Bad parameter"),
                    **_NOT_FOUND,
                    **_ERRORS,
                },
            }
        },
        "/attempts/{pk}/events/stream": {
            "get": {
                "summary": "Live events as Server-Sent Events (id = seq; ends with an `end` event, "
                "or `forbidden` when the caller loses access to the attempt)",
                "operationId": "streamEvents",
                "parameters": [
                    *_ID,
                    q("after", {"type": "integer", "minimum": 0}, "last seq seen"),
                    {
                        "name": "Last-Event-ID",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "An event stream",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    **_NOT_FOUND,
                    **_ERRORS,
                },
            }
        },
        "/attempts/{pk}/patch": {
            "get": {
                "summary": "The attempt's patch (git diff), plain text",
                "operationId": "getPatch",
                "parameters": _ID,
                "responses": {
                    "200": {
                        "description": "Unified diff, possibly empty",
                        "content": {"text/x-diff": {"schema": {"type": "string"}}},
                    },
                    "409": _error("The attempt has not finished"),
                    **_NOT_FOUND,
                    **_ERRORS,
                },
            }
        },
    }


def openapi_document() -> dict[str, Any]:
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
            "schemas": {**_SCHEMAS, **verification.schemas(), **openapi_webhooks.SCHEMAS},
        },
        "paths": {**_paths(), **verification.paths(),
                  **openapi_review.paths(_ERRORS, _NOT_FOUND, _error),
                  **openapi_webhooks.paths(_ERRORS, _NOT_FOUND, _error)},
    }
