"""The team webhook parts of the OpenAPI description (merged into openapi.py's document)."""

from __future__ import annotations

from typing import Any

_TIME = {"type": "string", "format": "date-time"}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _path_param(name: str, schema_type: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": schema_type}}


_SLUG = [_path_param("slug", "string")]
_WEBHOOK_ID = [*_SLUG, _path_param("webhook_id", "integer")]
_DELIVERY_ID = [*_WEBHOOK_ID, _path_param("delivery_id", "integer")]
_WEBHOOK_PROPERTIES: dict[str, Any] = {
    "id": {"type": "integer"},
    "url": {"type": "string"},
    "created_at": _TIME,
    "created_by": {"type": ["string", "null"], "description": "who added it"},
}

SCHEMAS: dict[str, Any] = {
    "Webhook": {
        "type": "object",
        "required": list(_WEBHOOK_PROPERTIES),
        "properties": _WEBHOOK_PROPERTIES,
    },
    "WebhookCreated": {
        "type": "object",
        "required": [*_WEBHOOK_PROPERTIES, "secret", "signature_header"],
        "properties": {
            **_WEBHOOK_PROPERTIES,
            "secret": {"type": "string", "description": "the signing secret: shown in this "
                       "answer only (only its encryption is kept)"},
            "signature_header": {"type": "string", "description": "where each delivery "
                                 "carries sha256=<hex HMAC-SHA256 of the body>"},
        },
    },
    "WebhookIn": {
        "type": "object",
        "required": ["url"],
        "additionalProperties": False,
        "properties": {"url": {"type": "string", "minLength": 1, "maxLength": 2000,
                               "description": "http:// or https://, a public address unless "
                               "the operator lists its network in WEBHOOK_ALLOW_PRIVATE"}},
    },
    "WebhookDelivery": {
        "type": "object",
        "required": ["id", "webhook", "event", "task", "attempt", "attempt_index", "state",
                     "tries", "last_status_code", "last_error", "created_at", "updated_at",
                     "delivered_at"],
        "properties": {
            "id": {"type": "integer", "description": "also sent as X-Codexweb-Delivery"},
            "webhook": {"type": "integer"},
            "event": {"type": "string"},
            "task": {"type": "integer"},
            "attempt": {"type": "integer", "description": "the attempt's id"},
            "attempt_index": {"type": "integer"},
            "state": {"type": "string", "enum": ["pending", "delivered", "failed"]},
            "tries": {"type": "integer"},
            "last_status_code": {"type": ["integer", "null"]},
            "last_error": {"type": "string", "description": "why the last try failed"},
            "created_at": _TIME,
            "updated_at": _TIME,
            "delivered_at": _NULLABLE_TIME,
        },
    },
    "WebhookDeliveryPage": {
        "type": "object",
        "required": ["results", "page", "page_size", "has_next"],
        "properties": {
            "results": {"type": "array", "items": _ref("WebhookDelivery")},
            "page": {"type": "integer"},
            "page_size": {"type": "integer"},
            "has_next": {"type": "boolean"},
        },
    },
}


def paths(errors: dict[str, Any], not_found: dict[str, Any], error: Any) -> dict[str, Any]:
    def q(name: str, schema: dict[str, Any], desc: str) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": False, "schema": schema,
                "description": desc}

    return {
        "/teams/{slug}/webhooks": {
            "get": {
                "summary": "The team's outgoing webhooks (team admins; never their secrets)",
                "operationId": "listWebhooks",
                "parameters": _SLUG,
                "responses": {
                    "200": _json({"type": "object", "required": ["results"], "properties": {
                        "results": {"type": "array", "items": _ref("Webhook")}}}, "Webhooks"),
                    **not_found, **errors,
                },
            },
            "post": {
                "summary": "Add a webhook; the answer holds its signing secret, shown once "
                "(audited)",
                "operationId": "addWebhook",
                "parameters": _SLUG,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("WebhookIn")}},
                },
                "responses": {
                    "201": _json(_ref("WebhookCreated"), "Added"),
                    "400": error("Not an http(s) URL, a private address, or too many webhooks"),
                    **not_found, **errors,
                },
            },
        },
        "/teams/{slug}/webhooks/{webhook_id}": {
            "delete": {
                "summary": "Remove a webhook and its delivery log (audited)",
                "operationId": "deleteWebhook",
                "parameters": _WEBHOOK_ID,
                "responses": {"204": {"description": "Removed"}, **not_found, **errors},
            }
        },
        "/teams/{slug}/webhooks/{webhook_id}/deliveries": {
            "get": {
                "summary": "A page of the webhook's delivery log, newest first",
                "operationId": "listWebhookDeliveries",
                "parameters": [
                    *_WEBHOOK_ID,
                    q("page", {"type": "integer", "minimum": 1}, "page number"),
                    q("page_size", {"type": "integer", "minimum": 1, "maximum": 100},
                      "page size"),
                ],
                "responses": {
                    "200": _json(_ref("WebhookDeliveryPage"), "Deliveries"),
                    "400": error("Bad parameter"),
                    **not_found, **errors,
                },
            }
        },
        "/teams/{slug}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver": {
            "post": {
                "summary": "Queue one more try of a failed delivery: the same body and "
                "delivery id, sent by the delivery job (audited)",
                "operationId": "redeliverWebhookDelivery",
                "parameters": _DELIVERY_ID,
                "responses": {
                    "202": _json(_ref("WebhookDelivery"), "Queued: pending again"),
                    "409": error("Not failed: delivered already, or still being tried"),
                    **not_found, **errors,
                },
            }
        },
    }
