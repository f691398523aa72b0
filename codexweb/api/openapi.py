"""The OpenAPI 3.1 description of /api/v1/, served at /api/v1/openapi.json.

Tests validate real responses against it (tests/api/test_openapi.py), so it cannot drift from
the code unnoticed.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from codexweb.api import openapi_review

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
            "attempts": {"type": "array", "items": _ref("Attempt")},
        },
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
            "attempts": {"type": "integer", "minimum": 1, "maximum": 4, "default": 1},
            "model": {"type": "string", "enum": ["strong", "fast"], "default": "strong"},
            **openapi_review.TASK_CREATE_FIELDS,
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
                "enum": ["creating", "open", "closed", "merged", "failed"],
                "description": "creating: a job is opening it; failed: see error",
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
}


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
                    "400": _error("Invalid payload"),
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
            "schemas": _SCHEMAS,
        },
        "paths": {**_paths(), **openapi_review.paths(_ERRORS, _NOT_FOUND, _error)},
    }
