"""The team's webhooks page (admins only: 404 for members, like any page that isn't theirs):
list, add (the secret is shown once), remove after confirming, each one's delivery log and its
Redeliver button."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_POST

from codexweb.accounts.confirm import confirm_then_do
from codexweb.accounts.current import current_admin_team
from codexweb.accounts.http import AuthedRequest
from tasks.notifications.destinations import DestinationRefused
from tasks.notifications.forms import WebhookForm
from tasks.notifications.models import TeamWebhook, WebhookDelivery
from tasks.notifications.redeliver import RedeliverRefused, delivery_redeliver
from tasks.notifications.selectors import team_webhooks, webhook_deliveries
from tasks.notifications.signing import SIGNATURE_HEADER
from tasks.notifications.webhooks import webhook_add, webhook_remove


def webhooks(request: AuthedRequest) -> HttpResponse:
    team = current_admin_team(request)
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = webhook_add(team=team, url=form.cleaned_data["url"], actor=request.user)
        except DestinationRefused as exc:
            form.add_error("url", str(exc))
        else:
            response = render(
                request,
                "tasks/webhook_created.html",
                {"team": team, "webhook": created.webhook, "secret": created.secret,
                 "header": SIGNATURE_HEADER},
            )
            patch_cache_control(response, no_store=True)  # the secret is shown only now
            return response
    return render(
        request,
        "tasks/webhooks.html",
        {"team": team, "webhooks": team_webhooks(team), "form": form, "header": SIGNATURE_HEADER},
        status=400 if request.method == "POST" else 200,
    )


def webhook_log(request: AuthedRequest, pk: int) -> HttpResponse:
    team = current_admin_team(request)
    webhook = get_object_or_404(TeamWebhook, pk=pk, team=team)
    return render(
        request,
        "tasks/webhook_log.html",
        {"team": team, "webhook": webhook, "deliveries": webhook_deliveries(webhook)},
    )


def webhook_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    team = current_admin_team(request)
    webhook = get_object_or_404(TeamWebhook, pk=pk, team=team)

    def remove() -> str:
        webhook_remove(webhook=webhook, actor=request.user)
        return f"Webhook {webhook.url} removed."

    return confirm_then_do(
        request,
        remove,
        then="notifications:webhooks",
        title="Remove a webhook",
        question=f"Remove the webhook {webhook.url}? It stops receiving events at once and its "
        "delivery log is deleted.",
        action=reverse("notifications:webhook_delete", args=[webhook.pk]),
        button="Remove",
    )


@require_POST
def webhook_redeliver(request: AuthedRequest, pk: int, delivery_id: int) -> HttpResponse:
    """The log's Redeliver button: queue one more try of a failed delivery, back to the log."""
    team = current_admin_team(request)
    delivery = get_object_or_404(
        WebhookDelivery, pk=delivery_id, webhook_id=pk, webhook__team=team
    )
    try:
        delivery_redeliver(delivery=delivery, actor=request.user)
    except RedeliverRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Delivery {delivery.pk} queued again.")
    return redirect("notifications:webhook_log", pk=pk)
