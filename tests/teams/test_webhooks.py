"""Per-team outgoing webhooks: admins add and remove them (audited, the secret shown once); when
an attempt finishes each receives signed JSON, tried again with backoff while it fails, and the
admin reads the delivery log. The receiver is a real HTTP server on loopback (the test settings
allow 127.0.0.0/8 through WEBHOOK_ALLOW_PRIVATE; production allows no private network)."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from codexweb.audit.models import AuditEntry
from tasks import services
from tasks.models import Attempt, Status
from tasks.notifications.fanout import attempt_notify
from tasks.notifications.models import TeamWebhook, WebhookDelivery
from tasks.notifications.payloads import ATTEMPT_BLOCKED, ATTEMPT_FINISHED
from tasks.notifications.signing import signature_valid
from tasks.notifications.webhooks import backoff_seconds, delivery_try
from tests.support import factories
from tests.support.celery_queue import queued_jobs
from tests.support.webhook_receiver import webhook_receiver  # noqa: F401


def _add(client, url: str):
    return client.post(reverse("notifications:webhooks"), {"url": url})


def _finished_attempt(repo, author, status: str = Status.FAILED) -> Attempt:
    attempt = factories.make_task(repo, author, prompt="Fix the flaky test").attempts.get()
    services.attempt_claim(attempt_id=attempt.pk)
    return services.attempt_finish(attempt_id=attempt.pk, status=status, error="Tests failed.")


@pytest.fixture
def hook(acme, alice_client, webhook_receiver):  # noqa: F811
    """Acme's webhook pointing at the receiver, added through the page: (webhook, secret)."""
    response = _add(alice_client, webhook_receiver.url())
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    return TeamWebhook.objects.get(url=webhook_receiver.url()), response.context["secret"]


def test_the_secret_is_shown_once_and_stored_encrypted(alice_client, hook):
    webhook, secret = hook
    assert len(secret) >= 40
    listing = alice_client.get(reverse("notifications:webhooks")).content.decode()
    assert webhook.url in listing and secret not in listing
    assert secret not in webhook.secret_encrypted and webhook.reveal() == secret


def test_a_finished_attempt_is_delivered_signed(acme, acme_repo, alice, hook, webhook_receiver):  # noqa: F811
    webhook, secret = hook
    attempt = _finished_attempt(acme_repo, alice)
    [delivery_id] = attempt_notify(attempt.pk, ATTEMPT_FINISHED)
    outcome = delivery_try(delivery_id)
    assert outcome.state == WebhookDelivery.State.DELIVERED and outcome.retry_in is None
    [got] = webhook_receiver.received
    assert got.path == "/hook"
    assert signature_valid(secret, got.body, got.headers["X-Codexweb-Signature"])
    assert not signature_valid("another secret", got.body, got.headers["X-Codexweb-Signature"])
    body = json.loads(got.body)
    assert body["event"] == "attempt.finished" and body["status"] == "failed"
    assert body["task"]["id"] == attempt.task_id and body["attempt"]["index"] == 1
    assert body["url"].endswith(f"/tasks/{attempt.task_id}/#attempt-1")
    assert body["attempt"]["finished_at"] and body["task"]["created_at"]
    assert got.headers["X-Codexweb-Event"] == "attempt.finished"
    # The job may be delivered twice: the same event is never sent twice.
    assert attempt_notify(attempt.pk, ATTEMPT_FINISHED) == []


@override_settings(WEBHOOK_RETRY_BASE_SECONDS=30, WEBHOOK_RETRY_MAX_SECONDS=3600)
def test_a_blocked_attempt_names_the_host_in_the_body(acme_repo, alice, hook, webhook_receiver):  # noqa: F811
    attempt = factories.make_task(acme_repo, alice).attempts.get()
    services.attempt_claim(attempt_id=attempt.pk)
    [delivery_id] = attempt_notify(attempt.pk, ATTEMPT_BLOCKED, host="pypi.example.test")
    delivery_try(delivery_id)
    [got] = webhook_receiver.received
    body = json.loads(got.body)
    assert body["event"] == "attempt.blocked" and body["blocked"] == {"host": "pypi.example.test"}
    # A finished attempt's body has no such part.
    finished = _finished_attempt(acme_repo, alice)
    [finished_delivery] = attempt_notify(finished.pk, ATTEMPT_FINISHED)
    delivery_try(finished_delivery)
    assert "blocked" not in json.loads(webhook_receiver.received[-1].body)


def test_a_500_is_tried_again_later_then_delivered_and_logged(
    acme_repo, alice, alice_client, hook, webhook_receiver  # noqa: F811
):
    webhook, _secret = hook
    webhook_receiver.answer(500, 200)
    [delivery_id] = attempt_notify(_finished_attempt(acme_repo, alice).pk, ATTEMPT_FINISHED)
    first = delivery_try(delivery_id)
    assert first.state == WebhookDelivery.State.PENDING and first.retry_in == 30
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.tries, delivery.last_status_code) == (1, 500)
    assert "HTTP 500" in delivery.last_error
    log = alice_client.get(reverse("notifications:webhook_log", args=[webhook.pk])).content.decode()
    assert "HTTP 500" in log and "Pending" in log
    second = delivery_try(delivery_id)
    assert second.state == WebhookDelivery.State.DELIVERED and second.retry_in is None
    delivery.refresh_from_db()
    assert (delivery.tries, delivery.last_status_code, delivery.last_error) == (2, 200, "")
    assert len(webhook_receiver.received) == 2
    # Both tries carried the same signed body.
    assert webhook_receiver.received[0].body == webhook_receiver.received[1].body
    log = alice_client.get(reverse("notifications:webhook_log", args=[webhook.pk])).content.decode()
    assert "Delivered" in log and "HTTP 200" in log


@override_settings(WEBHOOK_MAX_TRIES=3, WEBHOOK_RETRY_BASE_SECONDS=10)
def test_tries_are_bounded_and_back_off(acme_repo, alice, hook, webhook_receiver):  # noqa: F811
    webhook_receiver.answer(503)
    [delivery_id] = attempt_notify(_finished_attempt(acme_repo, alice).pk, ATTEMPT_FINISHED)
    waits = [delivery_try(delivery_id).retry_in for _ in range(3)]
    assert waits == [10, 20, None]
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.state == WebhookDelivery.State.FAILED and delivery.tries == 3
    assert delivery_try(delivery_id).retry_in is None  # a failed delivery is never tried again
    assert len(webhook_receiver.received) == 3


@override_settings(WEBHOOK_RETRY_BASE_SECONDS=30, WEBHOOK_RETRY_MAX_SECONDS=100)
def test_backoff_doubles_up_to_the_cap():
    assert [backoff_seconds(n) for n in (1, 2, 3, 4, 10)] == [30, 60, 100, 100, 100]


def test_a_client_error_is_not_tried_again(acme_repo, alice, hook, webhook_receiver):  # noqa: F811
    webhook_receiver.answer(410)
    [delivery_id] = attempt_notify(_finished_attempt(acme_repo, alice).pk, ATTEMPT_FINISHED)
    outcome = delivery_try(delivery_id)
    assert outcome.state == WebhookDelivery.State.FAILED and outcome.retry_in is None


def test_no_answer_is_logged_and_tried_again(acme_repo, alice, hook):
    webhook, _ = hook
    webhook.url = "http://127.0.0.1:9/closed"  # discard port: nothing listens
    webhook.save()
    [delivery_id] = attempt_notify(_finished_attempt(acme_repo, alice).pk, ATTEMPT_FINISHED)
    outcome = delivery_try(delivery_id)
    assert outcome.state == WebhookDelivery.State.PENDING and outcome.retry_in is not None
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.last_status_code is None
    assert "refused the connection" in delivery.last_error


def test_finishing_an_attempt_enqueues_the_notification_job(
    acme_repo, alice, hook, empty_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        attempt = _finished_attempt(acme_repo, alice, status=Status.SUCCEEDED)
    jobs = [j for j in queued_jobs() if j.task == "notifications.notify_attempt"]
    assert [j.args for j in jobs] == [[attempt.pk, "attempt.finished"]]


@override_settings(NOTIFY_EMAIL=False)
def test_without_a_webhook_or_email_no_notification_job_is_enqueued(
    acme_repo, alice, globex, empty_queue, django_capture_on_commit_callbacks
):
    """Nobody to tell: the job would do nothing. Another team's webhook does not count."""
    TeamWebhook.objects.create(
        team=globex, url="https://hooks.example.test/x", secret_encrypted="x"
    )
    with django_capture_on_commit_callbacks(execute=True):
        _finished_attempt(acme_repo, alice, status=Status.SUCCEEDED)
    assert [j for j in queued_jobs() if j.task == "notifications.notify_attempt"] == []


@override_settings(NOTIFY_EMAIL=True)
def test_with_email_on_the_notification_job_is_enqueued_without_a_webhook(
    acme_repo, alice, empty_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        attempt = _finished_attempt(acme_repo, alice, status=Status.SUCCEEDED)
    jobs = [j for j in queued_jobs() if j.task == "notifications.notify_attempt"]
    assert [j.args for j in jobs] == [[attempt.pk, "attempt.finished"]]


def test_cancelling_an_attempt_enqueues_the_notification_job(
    acme_repo, alice, hook, empty_queue, django_capture_on_commit_callbacks
):
    attempt = factories.make_task(acme_repo, alice).attempts.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.attempt_cancel(attempt_id=attempt.pk, by=alice)
    jobs = [j for j in queued_jobs() if j.task == "notifications.notify_attempt"]
    assert [j.args for j in jobs] == [[attempt.pk, "attempt.finished"]]


def test_other_teams_webhooks_hear_nothing(carol, globex_repo, hook, webhook_receiver):  # noqa: F811
    assert attempt_notify(_finished_attempt(globex_repo, carol).pk, ATTEMPT_FINISHED) == []
    assert webhook_receiver.received == []


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "ftp://example.com/x", "example.com",
     "http://user:pw@example.com/hook", "http:///nohost"],
)
def test_only_plain_http_and_https_urls_are_accepted(alice_client, acme, url):
    response = _add(alice_client, url)
    assert response.status_code == 400
    assert not TeamWebhook.objects.filter(team=acme).exists()


@override_settings(WEBHOOK_ALLOW_PRIVATE=())
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "169.254.169.254", "10.1.2.3"])
def test_private_addresses_are_refused_unless_the_operator_lists_them(alice_client, acme, host):
    response = _add(alice_client, f"http://{host}:8080/hook")
    assert response.status_code == 400
    page = response.content.decode()
    assert "WEBHOOK_ALLOW_PRIVATE" in page
    assert not TeamWebhook.objects.filter(team=acme).exists()


def test_delivery_checks_the_address_again(acme_repo, alice, hook, webhook_receiver):  # noqa: F811
    """The attack: a webhook accepted earlier (or a name that now resolves to loopback) must not
    reach a private address the operator no longer allows; the receiver gets nothing."""
    [delivery_id] = attempt_notify(_finished_attempt(acme_repo, alice).pk, ATTEMPT_FINISHED)
    with override_settings(WEBHOOK_ALLOW_PRIVATE=()):
        outcome = delivery_try(delivery_id)
    assert outcome.state == WebhookDelivery.State.FAILED and outcome.retry_in is None
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert "a loopback address" in delivery.last_error
    assert webhook_receiver.received == []


def _client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_members_and_other_teams_get_404(acme, bob, carol, globex, hook):
    webhook, _ = hook
    bob_client, carol_client = _client_of(bob), _client_of(carol)
    pages = [
        reverse("notifications:webhooks"),
        reverse("notifications:webhook_log", args=[webhook.pk]),
        reverse("notifications:webhook_delete", args=[webhook.pk]),
    ]
    for page in pages:
        assert bob_client.get(page).status_code == 404
        assert bob_client.post(page, {"url": "https://example.com/"}).status_code == 404
    # carol administers Globex: her own page works, Acme's webhook is not hers to see or remove
    assert carol_client.get(pages[0]).status_code == 200
    assert webhook.url not in carol_client.get(pages[0]).content.decode()
    assert carol_client.get(pages[1]).status_code == 404
    assert carol_client.post(pages[2]).status_code == 404
    assert TeamWebhook.objects.filter(pk=webhook.pk).exists()


def test_add_and_remove_are_audited_without_the_secret(acme, alice_client, hook):
    webhook, secret = hook
    confirm = alice_client.get(reverse("notifications:webhook_delete", args=[webhook.pk]))
    assert confirm.status_code == 200 and TeamWebhook.objects.filter(pk=webhook.pk).exists()
    response = alice_client.post(reverse("notifications:webhook_delete", args=[webhook.pk]))
    assert response.status_code == 302
    assert not TeamWebhook.objects.filter(pk=webhook.pk).exists()
    entries = AuditEntry.objects.filter(team=acme, action__startswith="webhook.")
    assert sorted(e.action for e in entries) == ["webhook.added", "webhook.removed"]
    assert all(e.target == webhook.url and secret not in json.dumps(e.changes) for e in entries)


def test_a_removed_webhooks_pending_delivery_stops(acme_repo, alice, hook, webhook_receiver):  # noqa: F811
    webhook, _ = hook
    [delivery_id] = attempt_notify(_finished_attempt(acme_repo, alice).pk, ATTEMPT_FINISHED)
    webhook.delete()
    assert delivery_try(delivery_id).retry_in is None
    assert webhook_receiver.received == []


def test_the_log_redelivers_a_failed_delivery_with_a_csrf_protected_button(
    acme, alice, alice_client, bob, acme_repo, hook, webhook_receiver,  # noqa: F811
    empty_queue, django_capture_on_commit_callbacks,
):
    webhook, _ = hook
    webhook_receiver.answer(410, 200)  # gone, then fixed
    [delivery_id] = attempt_notify(_finished_attempt(acme_repo, alice).pk, ATTEMPT_FINISHED)
    assert delivery_try(delivery_id).state == WebhookDelivery.State.FAILED
    log_url = reverse("notifications:webhook_log", args=[webhook.pk])
    action = reverse("notifications:webhook_redeliver", args=[webhook.pk, delivery_id])
    page = alice_client.get(log_url).content.decode()
    form = page[page.index(f'action="{action}"') - 40 : page.index("Redeliver<")]
    assert 'method="post"' in form and "csrfmiddlewaretoken" in form
    assert re.search(r"\son[a-z]+=", form) is None  # no inline handler: CSP-safe
    assert alice_client.get(action).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert strict.post(action).status_code == 403  # no CSRF token: refused
    assert _client_of(bob).post(action).status_code == 404  # a member, not an admin
    assert queued_jobs() == []
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(action, follow=True)
    assert response.redirect_chain == [(log_url, 302)]
    assert f"Delivery {delivery_id} queued again." in response.content.decode()
    [job] = [j for j in queued_jobs() if j.task == "notifications.deliver_webhook"]
    assert job.args == [delivery_id]
    assert WebhookDelivery.objects.get(pk=delivery_id).state == WebhookDelivery.State.PENDING
    delivery_try(delivery_id)
    page = alice_client.get(log_url).content.decode()
    assert "Delivered" in page and f'action="{action}"' not in page  # only failed ones offer it
    again = alice_client.post(action, follow=True).content.decode()
    assert "succeeded already" in again
    assert AuditEntry.objects.filter(team=acme, action="webhook.redelivered").count() == 1
