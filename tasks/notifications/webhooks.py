"""A team's webhooks: add (with a secret shown once), remove, and deliver one try.

Adding and removing are audited. Deliveries run in Celery jobs (`jobs.py`): each try signs the
stored JSON body, posts it to the checked address and records the status code or error on the
delivery; `delivery_try` says whether and when to try again (exponential backoff, bounded by
WEBHOOK_MAX_TRIES).
"""

from __future__ import annotations

import http.client
import json
import logging
import secrets
import ssl
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from codexweb.accounts.models import Team
from codexweb.audit import actions as audit_actions
from codexweb.audit.services import audit_record
from codexweb.crypto import DecryptionError
from tasks.notifications.destinations import DestinationRefused, resolve
from tasks.notifications.models import TeamWebhook, WebhookDelivery
from tasks.notifications.post import post
from tasks.notifications.signing import SIGNATURE_HEADER, signature

logger = logging.getLogger(__name__)

MAX_WEBHOOKS_PER_TEAM = 20
USER_AGENT = "codexweb-webhooks/1"


@dataclass(frozen=True)
class CreatedWebhook:
    webhook: TeamWebhook
    secret: str  # shown to the admin once; only its encryption is kept


def webhook_add(*, team: Team, url: str, actor: User) -> CreatedWebhook:
    """Add a webhook with a new random secret. DestinationRefused when the URL is not http(s),
    resolves to an address webhooks may not reach, or the team has too many."""
    url = url.strip()
    resolve(url, allowed=settings.WEBHOOK_ALLOW_PRIVATE)
    with transaction.atomic():
        if TeamWebhook.objects.filter(team=team).count() >= MAX_WEBHOOKS_PER_TEAM:
            raise DestinationRefused(f"A team has at most {MAX_WEBHOOKS_PER_TEAM} webhooks.")
        secret = secrets.token_urlsafe(32)
        webhook = TeamWebhook(team=team, url=url, created_by=actor)
        webhook.seal(secret)
        webhook.save()
        webhook_audit(webhook, actor=actor, action=audit_actions.WEBHOOK_ADDED, url=url)
    return CreatedWebhook(webhook=webhook, secret=secret)


@transaction.atomic
def webhook_remove(*, webhook: TeamWebhook, actor: User) -> None:
    """Remove a webhook and its delivery log; pending retries find nothing and stop."""
    webhook_audit(webhook, actor=actor, action=audit_actions.WEBHOOK_REMOVED, url=webhook.url)
    webhook.delete()


def webhook_audit(webhook: TeamWebhook, *, actor: User, action: str, **changes: object) -> None:
    """Record a change to `webhook` in its team's audit log, by its URL (never its secret)."""
    audit_record(team=webhook.team, actor=actor, action=action, target=webhook.url,
                 changes={"webhook": webhook.pk, **changes})


def backoff_seconds(tries: int) -> int:
    """Wait before try `tries + 1`: base, 2×base, 4×base … capped at WEBHOOK_RETRY_MAX_SECONDS."""
    base = settings.WEBHOOK_RETRY_BASE_SECONDS
    return int(min(base * 2 ** max(tries - 1, 0), settings.WEBHOOK_RETRY_MAX_SECONDS))


def _retryable(status: int) -> bool:
    return status >= 500 or status in (408, 425, 429)


def delivery_body(delivery: WebhookDelivery) -> bytes:
    """The exact bytes sent (and signed): compact JSON with sorted keys."""
    return json.dumps(delivery.payload, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class TryOutcome:
    state: str
    retry_in: int | None  # seconds until the next try, None when done


def delivery_try(delivery_id: int) -> TryOutcome:
    """Make one try of a pending delivery and record it. A refused destination, a 2xx or a
    client error (4xx but 408/425/429) ends it; the rest is tried again until the tries run out."""
    delivery = WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None:  # its webhook was removed meanwhile
        return TryOutcome(state=WebhookDelivery.State.FAILED, retry_in=None)
    if delivery.state != WebhookDelivery.State.PENDING:
        return TryOutcome(state=delivery.state, retry_in=None)
    body = delivery_body(delivery)
    try:
        secret = delivery.webhook.reveal()
    except DecryptionError:
        return _record(
            delivery,
            status=None,
            error="The signing secret cannot be decrypted (the encryption key changed): remove "
            "this webhook and add it again.",
            final=True,
        )
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Codexweb-Event": delivery.event,
        "X-Codexweb-Delivery": str(delivery.pk),
        SIGNATURE_HEADER: signature(secret, body),
    }
    status: int | None = None
    error = ""
    final = False
    try:
        destination = resolve(delivery.webhook.url, allowed=settings.WEBHOOK_ALLOW_PRIVATE)
        status = post(destination, body, headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
    except DestinationRefused as exc:
        error, final = str(exc), True
    except (OSError, http.client.HTTPException) as exc:
        error = no_answer_reason(exc)
    if status is not None and not 200 <= status < 300:
        error = f"The receiver answered HTTP {status}."
        final = not _retryable(status)
    return _record(delivery, status=status, error=error, final=final)


def no_answer_reason(exc: BaseException) -> str:
    """A sentence for the delivery log about a try that got no HTTP answer."""
    if isinstance(exc, TimeoutError):
        return f"No answer within {settings.WEBHOOK_TIMEOUT_SECONDS:g} seconds."
    if isinstance(exc, ConnectionRefusedError):
        return "No answer: the receiver refused the connection (nothing listens there?)."
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "No answer: the receiver's TLS certificate is not trusted."
    if isinstance(exc, ssl.SSLError):
        return "No answer: the TLS handshake with the receiver failed."
    if isinstance(exc, http.client.HTTPException):
        return "No answer: the receiver's reply was not valid HTTP."
    return "No answer: the connection to the receiver failed."


def _record(
    delivery: WebhookDelivery, *, status: int | None, error: str, final: bool
) -> TryOutcome:
    """Count the try, keep its answer or error, and decide what comes next."""
    delivery.tries += 1
    delivery.last_status_code = status
    delivery.last_error = error
    retry_in: int | None = None
    if not error:
        delivery.state = WebhookDelivery.State.DELIVERED
        delivery.delivered_at = timezone.now()
    elif final or delivery.tries >= settings.WEBHOOK_MAX_TRIES:
        delivery.state = WebhookDelivery.State.FAILED
    else:
        retry_in = backoff_seconds(delivery.tries)
    delivery.save(
        update_fields=["tries", "last_status_code", "last_error", "state", "delivered_at",
                       "updated_at"]
    )
    if error:
        logger.info("webhook delivery %s try %s: %s", delivery.pk, delivery.tries, error)
    return TryOutcome(state=delivery.state, retry_in=retry_in)
