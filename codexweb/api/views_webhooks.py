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
from codexweb.api.errors import refusals
from codexweb.api.fields import fields_of, times_of
from codexweb.api.paging import page_response
from codexweb.api.schemas import WebhookIn
from tasks.notifications.destinations import DestinationRefused
from tasks.notifications.models import TeamWebhook, WebhookDelivery
from tasks.notifications.redeliver import RedeliverRefused, delivery_redeliver
from tasks.notifications.selectors import team_webhooks, webhook_delivery_log
from tasks.notifications.signing import SIGNATURE_HEADER
from tasks.notifications.webhooks import webhook_add, webhook_remove


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
        **fields_of(webhook, "id", "url"),
        **times_of(webhook, "created_at"),
        "created_by": webhook.created_by.get_username() if webhook.created_by else None,
    }


def delivery_repr(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "webhook": delivery.webhook_id,
        "task": delivery.attempt.task_id,
        "attempt": delivery.attempt_id,
        "attempt_index": delivery.attempt.index,
        **fields_of(delivery, "id", "event", "state", "tries", "last_status_code", "last_error"),
        **times_of(delivery, "created_at", "updated_at", "delivered_at"),
    }


@api_endpoint("GET", "POST")
def webhooks_collection(request: HttpRequest, slug: str) -> JsonResponse:
    """GET: the team's webhooks (never their secrets). POST: add one; 201 with its secret,
    shown this once."""
    team = _admin_team(request, slug)
    if request.method == "GET":
        return JsonResponse({"results": [webhook_repr(w) for w in team_webhooks(team)]})
    payload: WebhookIn = parse_body(request, WebhookIn)
    with refusals({DestinationRefused: (400, "invalid_url")}):
        created = webhook_add(team=team, url=payload.url, actor=_user(request))
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
    return page_response(request.GET, webhook_delivery_log(webhook), delivery_repr)


@api_endpoint("POST")
def delivery_redeliver_view(
    request: HttpRequest, slug: str, webhook_id: int, delivery_id: int
) -> JsonResponse:
    """Queue one more try of a failed delivery: 202 with it (pending); 409 when not failed."""
    webhook = _webhook(request, slug, webhook_id)
    delivery = get_object_or_404(
        WebhookDelivery.objects.select_related("attempt"), pk=delivery_id, webhook=webhook
    )
    with refusals({RedeliverRefused: (409, "not_failed")}):
        delivery = delivery_redeliver(delivery=delivery, actor=_user(request))
    return JsonResponse(delivery_repr(delivery), status=202)
