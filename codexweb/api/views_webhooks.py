"""REST endpoints for a team's outgoing webhooks (team admins only; members and other teams get
404, like the pages): list, add (the signing secret is in the 201 answer and never again),
remove, read the delivery log, and redeliver a failed delivery. The services are the pages'."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.cache import patch_cache_control

from codexweb.accounts.models import Team
from codexweb.accounts.selectors import get_admin_team
from codexweb.api.auth import api_endpoint, parse_body
from codexweb.api.errors import ApiError
from codexweb.api.schemas import WebhookIn
from codexweb.query_params import query_int
from tasks.notifications.destinations import DestinationRefused
from tasks.notifications.models import TeamWebhook, WebhookDelivery
from tasks.notifications.redeliver import RedeliverRefused, delivery_redeliver
from tasks.notifications.selectors import team_webhooks, webhook_delivery_log
from tasks.notifications.signing import SIGNATURE_HEADER
from tasks.notifications.webhooks import webhook_add, webhook_remove

MAX_PAGE_SIZE = 100


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # set by auth.authenticate


def _admin_team(request: HttpRequest, slug: str) -> Team:
    """The team named `slug` when the caller administers it; Http404 otherwise (also for a team
    that does not exist, so slugs don't leak)."""
    return get_admin_team(_user(request), Team.objects.filter(slug=slug).first())


def _webhook(request: HttpRequest, slug: str, webhook_id: int) -> TeamWebhook:
    team = _admin_team(request, slug)
    return get_object_or_404(TeamWebhook, pk=webhook_id, team=team)


def webhook_repr(webhook: TeamWebhook) -> dict[str, Any]:
    return {
        "id": webhook.pk,
        "url": webhook.url,
        "created_at": webhook.created_at.isoformat(),
        "created_by": webhook.created_by.get_username() if webhook.created_by else None,
    }


def delivery_repr(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": delivery.pk,
        "webhook": delivery.webhook_id,
        "event": delivery.event,
        "task": delivery.attempt.task_id,
        "attempt": delivery.attempt_id,
        "attempt_index": delivery.attempt.index,
        "state": delivery.state,
        "tries": delivery.tries,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at.isoformat(),
        "updated_at": delivery.updated_at.isoformat(),
        "delivered_at": delivery.delivered_at.isoformat() if delivery.delivered_at else None,
    }


@api_endpoint("GET", "POST")
def webhooks_collection(request: HttpRequest, slug: str) -> JsonResponse:
    """GET: the team's webhooks (never their secrets). POST: add one; 201 with its secret,
    shown this once."""
    team = _admin_team(request, slug)
    if request.method == "GET":
        return JsonResponse({"results": [webhook_repr(w) for w in team_webhooks(team)]})
    payload: WebhookIn = parse_body(request, WebhookIn)
    try:
        created = webhook_add(team=team, url=payload.url, actor=_user(request))
    except DestinationRefused as exc:
        raise ApiError(400, "invalid_url", str(exc)) from exc
    response = JsonResponse(
        {**webhook_repr(created.webhook), "secret": created.secret,
         "signature_header": SIGNATURE_HEADER},
        status=201,
    )
    patch_cache_control(response, no_store=True)  # the secret is shown only now
    return response


@api_endpoint("DELETE")
def webhook_detail(request: HttpRequest, slug: str, webhook_id: int) -> HttpResponse:
    webhook_remove(webhook=_webhook(request, slug, webhook_id), actor=_user(request))
    return HttpResponse(status=204)


@api_endpoint("GET")
def webhook_deliveries(request: HttpRequest, slug: str, webhook_id: int) -> JsonResponse:
    """A page of the delivery log, newest first."""
    webhook = _webhook(request, slug, webhook_id)
    page = query_int(request.GET, "page", 1, minimum=1, maximum=100000)
    size = query_int(request.GET, "page_size", 20, minimum=1, maximum=MAX_PAGE_SIZE)
    rows = list(webhook_delivery_log(webhook)[(page - 1) * size : page * size + 1])
    return JsonResponse(
        {
            "results": [delivery_repr(d) for d in rows[:size]],
            "page": page,
            "page_size": size,
            "has_next": len(rows) > size,
        }
    )


@api_endpoint("POST")
def delivery_redeliver_view(
    request: HttpRequest, slug: str, webhook_id: int, delivery_id: int
) -> JsonResponse:
    """Queue one more try of a failed delivery: 202 with it (pending); 409 when not failed."""
    webhook = _webhook(request, slug, webhook_id)
    delivery = get_object_or_404(
        WebhookDelivery.objects.select_related("attempt"), pk=delivery_id, webhook=webhook
    )
    try:
        delivery = delivery_redeliver(delivery=delivery, actor=_user(request))
    except RedeliverRefused as exc:
        raise ApiError(409, "not_failed", str(exc)) from exc
    return JsonResponse(delivery_repr(delivery), status=202)
