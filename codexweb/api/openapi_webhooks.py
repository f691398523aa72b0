"""The team webhook parts of the OpenAPI description (merged into openapi.py's document)."""

from __future__ import annotations

from typing import Any

from codexweb.api import openapi_parts as oa

_WEBHOOK: dict[str, Any] = {
    "id": oa.INTEGER,
    "url": oa.STRING,
    "created_at": oa.TIME,
    "created_by": oa.described({"type": ["string", "null"]}, "who added it"),
}

SCHEMAS: dict[str, Any] = {
    "Webhook": oa.obj(_WEBHOOK),
    "WebhookCreated": oa.obj(
        {
            **_WEBHOOK,
            "secret": oa.text("the signing secret: shown in this answer only (only its "
                           "encryption is kept)"),
            "signature_header": oa.text("where each delivery carries sha256=<hex HMAC-SHA256 of "
                                     "the body>"),
        }
    ),
    "WebhookIn": oa.obj(
        {"url": {"type": "string", "minLength": 1, "maxLength": 2000,
                 "description": "http:// or https://, a public address unless the operator "
                 "lists its network in WEBHOOK_ALLOW_PRIVATE"}},
        closed=True,
    ),
    "WebhookDelivery": oa.obj(
        {
            "id": oa.described(oa.INTEGER, "also sent as X-Codexweb-Delivery"),
            "webhook": oa.INTEGER,
            "event": oa.STRING,
            "task": oa.INTEGER,
            "attempt": oa.described(oa.INTEGER, "the attempt's id"),
            "attempt_index": oa.INTEGER,
            "state": {"type": "string", "enum": ["pending", "delivered", "failed"]},
            "tries": oa.INTEGER,
            "last_status_code": {"type": ["integer", "null"]},
            "last_error": oa.text("why the last try failed"),
            "created_at": oa.TIME,
            "updated_at": oa.TIME,
            "delivered_at": oa.NULLABLE_TIME,
        }
    ),
    "WebhookDeliveryPage": oa.page_of("WebhookDelivery"),
}

PATHS = oa.paths(
    oa.endpoint("GET /teams/{slug}/webhooks", "listWebhooks",
             "The team's outgoing webhooks (team admins; never their secrets)",
             {200: (oa.results_of("Webhook"), "Webhooks")}),
    oa.endpoint("POST /teams/{slug}/webhooks", "addWebhook",
             "Add a webhook; the answer holds its signing secret, shown once (audited)",
             {201: ("WebhookCreated", "Added"),
              400: "Not an http(s) URL, a private address, or too many webhooks"},
             body="WebhookIn"),
    oa.endpoint("DELETE /teams/{slug}/webhooks/{webhook_id}", "deleteWebhook",
             "Remove a webhook and its delivery log (audited)", {204: {"description": "Removed"}}),
    oa.endpoint("GET /teams/{slug}/webhooks/{webhook_id}/deliveries", "listWebhookDeliveries",
             "A page of the webhook's delivery log, newest first",
             {200: ("WebhookDeliveryPage", "Deliveries"), 400: "Bad parameter"},
             params=oa.page_params()),
    oa.endpoint("POST /teams/{slug}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
             "redeliverWebhookDelivery",
             "Queue one more try of a failed delivery: the same body and delivery id, sent by the "
             "delivery job (audited)",
             {202: ("WebhookDelivery", "Queued: pending again"),
              409: "Not failed: delivered already, or still being tried"}),
)
