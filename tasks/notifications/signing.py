"""The webhook signature: `X-Codexweb-Signature: sha256=<hex HMAC-SHA256 of the raw body>`,
keyed with the webhook's secret. Receivers compute the same over the bytes they got."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Codexweb-Signature"


def signature(secret: str, body: bytes) -> str:
    """The header value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: compare in constant time."""
    return hmac.compare_digest(signature(secret, body), header or "")
