"""/api/v1/teams/{slug}/webhooks: team admins list, add (the signing secret in the 201 answer
only), remove, page through the delivery log and redeliver a failed delivery through the same
job, against a real loopback receiver; members, other teams and unknown teams get 404. Every
response is checked against the OpenAPI description (tests/api/conftest.py)."""

from __future__ import annotations

import json

from django.test import override_settings

from codexweb.audit.models import AuditEntry
from tasks.models import Attempt, Status
from tasks.notifications.fanout import attempt_notify
from tasks.notifications.jobs import deliver_webhook
from tasks.notifications.models import TeamWebhook, WebhookDelivery
from tasks.notifications.payloads import ATTEMPT_FINISHED
from tasks.notifications.webhooks import delivery_try
from tests.support import factories
from tests.support.celery_queue import queued_jobs
from tests.support.webhook_receiver import webhook_receiver  # noqa: F401


def _path(team, *extra) -> str:
    return "/".join([f"/teams/{team.slug}/webhooks", *map(str, extra)])


def _finished_attempt(repo, author) -> Attempt:
    return factories.make_finished_attempt(repo, author, status=Status.FAILED)


def _added(api, team, url: str) -> dict:
    response = api.post(_path(team), {"url": url})
    assert response.status_code == 201, response.content
    return response.json()


def test_admin_adds_lists_and_removes_and_the_secret_is_shown_once(alice_api, acme):
    response = alice_api.post(_path(acme), {"url": "http://127.0.0.1:9/hook"})
    assert response.status_code == 201, response.content
    assert "no-store" in response["Cache-Control"]
    created = response.json()
    secret = created["secret"]
    assert len(secret) >= 40 and created["signature_header"] == "X-Codexweb-Signature"
    webhook = TeamWebhook.objects.get(pk=created["id"], team=acme)
    assert webhook.reveal() == secret and secret not in webhook.secret_encrypted
    listed = alice_api.get(_path(acme))
    assert [(w["id"], w["url"], w["created_by"]) for w in listed.json()["results"]] == [
        (webhook.pk, "http://127.0.0.1:9/hook", "alice")
    ]
    assert secret.encode() not in listed.content
    assert alice_api.call("DELETE", _path(acme, webhook.pk)).status_code == 204
    assert not TeamWebhook.objects.exists()
    entries = AuditEntry.objects.filter(team=acme, action__startswith="webhook.").order_by("pk")
    assert [e.action for e in entries] == ["webhook.added", "webhook.removed"]
    assert all(secret not in json.dumps(e.changes) for e in entries)


def test_refused_urls_get_the_services_sentence(alice_api, acme):
    bad = alice_api.post(_path(acme), {"url": "file:///etc/passwd"})
    assert bad.status_code == 400
    assert bad.json() == {"error": "Webhook URLs must start with http:// or https://.",
                          "code": "invalid_url"}
    with override_settings(WEBHOOK_ALLOW_PRIVATE=()):
        private = alice_api.post(_path(acme), {"url": "http://169.254.169.254/latest"})
    assert private.status_code == 400
    assert "WEBHOOK_ALLOW_PRIVATE" in private.json()["error"]
    missing = alice_api.post(_path(acme), {"link": "https://example.com/"})
    assert missing.status_code == 400 and "url" in missing.json()["error"]
    assert not TeamWebhook.objects.exists()


def test_the_delivery_log_is_newest_first_in_pages(alice_api, acme, acme_repo, alice):
    webhook = TeamWebhook.objects.get(pk=_added(alice_api, acme, "http://127.0.0.1:9/h")["id"])
    made = [attempt_notify(_finished_attempt(acme_repo, alice).pk, ATTEMPT_FINISHED)[0]
            for _ in range(3)]
    first = alice_api.get(_path(acme, webhook.pk, "deliveries"), params={"page_size": 2}).json()
    assert [d["id"] for d in first["results"]] == [made[2], made[1]] and first["has_next"]
    assert first["results"][0]["state"] == "pending" and first["results"][0]["tries"] == 0
    second = alice_api.get(
        _path(acme, webhook.pk, "deliveries"), params={"page_size": 2, "page": 2}
    ).json()
    assert [d["id"] for d in second["results"]] == [made[0]] and not second["has_next"]
    bad = alice_api.get(_path(acme, webhook.pk, "deliveries"), params={"page_size": 0})
    assert bad.status_code == 400


def test_redeliver_queues_the_same_delivery_through_the_job(
    alice_api, acme, acme_repo, alice, webhook_receiver,  # noqa: F811
    empty_queue, django_capture_on_commit_callbacks,
):
    webhook_receiver.answer(410, 200)  # gone, then back
    webhook = TeamWebhook.objects.get(pk=_added(alice_api, acme, webhook_receiver.url())["id"])
    [delivery_id] = attempt_notify(_finished_attempt(acme_repo, alice).pk, ATTEMPT_FINISHED)
    assert delivery_try(delivery_id).state == WebhookDelivery.State.FAILED  # a 4xx: no retry
    path = _path(acme, webhook.pk, "deliveries", delivery_id, "redeliver")
    with django_capture_on_commit_callbacks(execute=True):
        queued = alice_api.post(path)
    assert queued.status_code == 202, queued.content
    assert queued.json()["state"] == "pending" and queued.json()["last_status_code"] == 410
    [job] = [j for j in queued_jobs() if j.task == "notifications.deliver_webhook"]
    assert job.args == [delivery_id]
    deliver_webhook.apply(args=job.args)  # what the worker runs
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert (delivery.state, delivery.tries, delivery.last_status_code) == ("delivered", 2, 200)
    first, second = webhook_receiver.received
    assert first.body == second.body
    assert first.headers["X-Codexweb-Delivery"] == second.headers["X-Codexweb-Delivery"]
    log = alice_api.get(_path(acme, webhook.pk, "deliveries")).json()["results"]
    assert [(d["id"], d["state"]) for d in log] == [(delivery_id, "delivered")]
    again = alice_api.post(path)
    assert again.status_code == 409 and "succeeded already" in again.json()["error"]
    entry = AuditEntry.objects.get(team=acme, action="webhook.redelivered")
    assert entry.target == webhook.url and entry.changes["delivery"] == delivery_id


def test_a_pending_delivery_is_not_redelivered(alice_api, acme, acme_repo, alice, empty_queue):
    webhook = TeamWebhook.objects.get(pk=_added(alice_api, acme, "http://127.0.0.1:9/h")["id"])
    [delivery_id] = attempt_notify(_finished_attempt(acme_repo, alice).pk, ATTEMPT_FINISHED)
    response = alice_api.post(_path(acme, webhook.pk, "deliveries", delivery_id, "redeliver"))
    assert response.status_code == 409 and "still being tried" in response.json()["error"]
    assert queued_jobs() == []
    assert not AuditEntry.objects.filter(action="webhook.redelivered").exists()


def test_members_other_teams_and_unknown_teams_get_404(
    alice_api, bob_api, carol_api, acme, globex, acme_repo, alice
):
    webhook = TeamWebhook.objects.get(pk=_added(alice_api, acme, "http://127.0.0.1:9/h")["id"])
    [delivery_id] = attempt_notify(_finished_attempt(acme_repo, alice).pk, ATTEMPT_FINISHED)
    WebhookDelivery.objects.filter(pk=delivery_id).update(state=WebhookDelivery.State.FAILED)
    for api in (bob_api, carol_api):  # bob is an Acme member, carol administers Globex
        assert api.get(_path(acme)).status_code == 404
        assert api.post(_path(acme), {"url": "https://example.com/"}).status_code == 404
        assert api.call("DELETE", _path(acme, webhook.pk)).status_code == 404
        assert api.get(_path(acme, webhook.pk, "deliveries")).status_code == 404
        redeliver = _path(acme, webhook.pk, "deliveries", delivery_id, "redeliver")
        assert api.post(redeliver).status_code == 404
    # Carol's own team does not reach Acme's webhook either.
    assert carol_api.get(_path(globex)).json() == {"results": []}
    assert carol_api.call("DELETE", _path(globex, webhook.pk)).status_code == 404
    assert carol_api.post(
        _path(globex, webhook.pk, "deliveries", delivery_id, "redeliver")
    ).status_code == 404
    assert alice_api.get("/teams/no-such-team/webhooks").status_code == 404
    assert TeamWebhook.objects.filter(pk=webhook.pk).exists()
    assert WebhookDelivery.objects.get(pk=delivery_id).state == "failed"
    assert TeamWebhook.objects.filter(team=acme).count() == 1


def test_a_token_is_needed(anonymous_api, acme):
    assert anonymous_api.get(_path(acme)).status_code == 401
