"""Small constructors the OpenAPI description is written with (openapi.py and its per-area
modules), so each schema and operation states only what is its own: its fields, its answers.

Operations are rows of `paths(endpoint(...), ...)`. An operation whose path names an object
(`{pk}`, `{slug}`, ...) can answer 404, and every operation can answer 401 and 429: `endpoint()`
adds those answers and the path parameters, so no path forgets them.
"""

from __future__ import annotations

import re
from typing import Any

Schema = dict[str, Any]

STATUS = ["queued", "running", "succeeded", "failed", "cancelled", "stopped"]
TIME: Schema = {"type": "string", "format": "date-time"}
NULLABLE_TIME: Schema = {"type": ["string", "null"], "format": "date-time"}
INTEGER: Schema = {"type": "integer"}
STRING: Schema = {"type": "string"}
BOOLEAN: Schema = {"type": "boolean"}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def described(schema: Schema, description: str) -> Schema:
    """`schema` with a description for people."""
    return {**schema, "description": description}


def text(description: str) -> Schema:
    return described(STRING, description)


def switch(description: str | None = None) -> Schema:
    """An optional boolean of a request body, false unless sent."""
    schema: Schema = {"type": "boolean", "default": False}
    return described(schema, description) if description else schema


def array_of(item: Schema | str) -> Schema:
    """An array of `item` (a schema, or the name of a component schema)."""
    return {"type": "array", "items": ref(item) if isinstance(item, str) else item}


def obj(
    required: Schema,
    *,
    optional: Schema | None = None,
    closed: bool = False,
    description: str | None = None,
) -> Schema:
    """An object schema with `required` properties (each named once) and `optional` ones;
    `closed` refuses properties not listed (request bodies)."""
    schema: Schema = {"type": "object"}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    if description:
        schema["description"] = description
    schema["properties"] = {**required, **(optional or {})}
    return schema


def results_of(item: str) -> Schema:
    """`{"results": [item, ...]}`: a whole (short) list."""
    return obj({"results": array_of(item)})


def page_of(item: str) -> Schema:
    """A page of `item`s as `codexweb.api.paging.page_response` answers it."""
    return obj(
        {"results": array_of(item), "page": INTEGER, "page_size": INTEGER, "has_next": BOOLEAN}
    )


def answer(schema: Schema | str, description: str) -> Schema:
    """A JSON response: `schema`, or the component schema of that name."""
    body = ref(schema) if isinstance(schema, str) else schema
    return {"description": description, "content": {"application/json": {"schema": body}}}


def error(description: str) -> Schema:
    return answer("Error", description)


def plain(media_type: str, description: str) -> Schema:
    """A response that is one string of `media_type` (a diff, an event stream)."""
    return {"description": description, "content": {media_type: {"schema": STRING}}}


def path_param(name: str, schema_type: str = "integer") -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": {"type": schema_type}}


def query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


def page_params(*, page_size_max: int = 100) -> list[Schema]:
    """The `page` and `page_size` query parameters of a paged list."""
    return [
        query("page", {"type": "integer", "minimum": 1}, "page number"),
        query("page_size", {"type": "integer", "minimum": 1, "maximum": page_size_max},
              "page size"),
    ]


ERRORS = {
    "401": error("Missing, invalid or revoked token"),
    "429": error("Rate limit exceeded; see Retry-After"),
}
NOT_FOUND = {"404": error("No such object in your teams")}
GITHUB_DOWN = "GitHub could not be asked; the message says why"
# Path parameters are integers (ids) unless named here.
_PATH_PARAM_TYPES = {"slug": "string"}

# An answer: (schema or component name, description) for JSON, a description alone for an
# error, or a whole response object (no body, plain text).
Answer = tuple[Schema | str, str] | str | Schema


def _response(value: Answer) -> Schema:
    if isinstance(value, str):
        return error(value)
    if isinstance(value, tuple):
        return answer(*value)
    return value


def endpoint(
    route: str,
    operation_id: str,
    summary: str,
    answers: dict[int, Answer],
    *,
    params: list[Schema] | None = None,
    body: Schema | str | None = None,
    body_required: bool = True,
    description: str | None = None,
) -> tuple[str, str, Schema]:
    """One operation, `route` as "METHOD /path/{pk}": the path's `{names}` become its path
    parameters (before `params`), and the answers every operation has are added."""
    method, path = route.split(" ", 1)
    names = re.findall(r"{(\w+)}", path)
    parameters = [path_param(n, _PATH_PARAM_TYPES.get(n, "integer")) for n in names]
    parameters += params or []
    op: Schema = {"summary": summary}
    if description:
        op["description"] = description
    op["operationId"] = operation_id
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        schema = ref(body) if isinstance(body, str) else body
        op["requestBody"] = {"required": body_required,
                             "content": {"application/json": {"schema": schema}}}
    responses = {str(status): _response(value) for status, value in answers.items()}
    op["responses"] = {**responses, **(NOT_FOUND if names else {}), **ERRORS}
    return path, method.lower(), op


def paths(*endpoints: tuple[str, str, Schema]) -> dict[str, dict[str, Schema]]:
    """The `paths` object: the endpoints grouped by path, in the order given."""
    out: dict[str, dict[str, Schema]] = {}
    for path, method, op in endpoints:
        out.setdefault(path, {})[method] = op
    return out
