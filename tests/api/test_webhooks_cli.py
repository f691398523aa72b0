"""`codexweb webhooks ...` as a subprocess against the real app in daphne: a team admin adds a
webhook (the secret printed once), lists it, reads the delivery log, redelivers a failed
delivery (queued for the same job, which then reaches the loopback receiver) and removes it;
errors are the server's sentences with the documented exit codes, and `--json` everywhere."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User

from codexweb.accounts.models import Team
from repos.models import Repository
from tasks.notifications.fanout import attempt_notify
from tasks.notifications.jobs import deliver_webhook
from tasks.notifications.models import TeamWebhook, WebhookDelivery
from tasks.notifications.payloads import ATTEMPT_FINISHED
from tasks.notifications.webhooks import delivery_try
from tests.support import factories
from tests.support.celery_queue import queued_jobs
from tests.support.cli_runner import cli, cli_login
from tests.support.webhook_receiver import webhook_receiver  # noqa: F401

pytestmark = pytest.mark.timeout(180)


def _failed_delivery(team: Team) -> int:
    """A finished attempt notified to the team's webhook, whose one try failed."""
    alice = User.objects.get(username="alice")
    repository = Repository.objects.get(team=team)
    attempt = factories.make_finished_attempt(repository, alice, status="failed")
    [delivery_id] = attempt_notify(attempt.pk, ATTEMPT_FINISHED)
    assert delivery_try(delivery_id).state == WebhookDelivery.State.FAILED
    return delivery_id


def test_an_admin_manages_webhooks_from_the_cli(live_app, world, webhook_receiver):  # noqa: F811
    cli_login(live_app, world)
    team = Team.objects.get(name="Acme")
    added = cli(world, "webhooks", "add", team.slug, webhook_receiver.url())
    assert added.returncode == 0, added.stderr
    webhook = TeamWebhook.objects.get(team=team)
    secret = webhook.reveal()
    assert f"Signing secret (shown only now): {secret}" in added.stdout
    listed = cli(world, "webhooks", "list", team.slug)
    assert listed.returncode == 0 and webhook.url in listed.stdout and secret not in listed.stdout
    listed_json = json.loads(cli(world, "webhooks", "list", team.slug, "--json").stdout)
    assert [row["id"] for row in listed_json] == [webhook.pk]

    webhook_receiver.answer(410, 200)
    delivery_id = _failed_delivery(team)
    log = cli(world, "webhooks", "deliveries", team.slug, str(webhook.pk))
    assert log.returncode == 0 and f"{delivery_id}\t" in log.stdout
    assert "failed" in log.stdout and "HTTP 410" in log.stdout
    again = cli(world, "webhooks", "redeliver", team.slug, str(webhook.pk), str(delivery_id),
                "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["state"] == "pending"
    [job] = [j for j in queued_jobs() if j.task == "notifications.deliver_webhook"]
    deliver_webhook.apply(args=job.args)  # what the worker runs
    page = json.loads(
        cli(world, "webhooks", "deliveries", team.slug, str(webhook.pk), "--json").stdout
    )
    assert [(d["id"], d["state"], d["tries"]) for d in page["results"]] == [
        (delivery_id, "delivered", 2)
    ]
    assert len(webhook_receiver.received) == 2

    twice = cli(world, "webhooks", "redeliver", team.slug, str(webhook.pk), str(delivery_id))
    assert twice.returncode == 5 and "succeeded already" in twice.stderr  # exit 5: conflict
    removed = cli(world, "webhooks", "delete", team.slug, str(webhook.pk), "--json")
    assert removed.returncode == 0 and json.loads(removed.stdout) == {"deleted": webhook.pk}
    assert not TeamWebhook.objects.exists()


def test_cli_errors_are_the_servers_sentences(live_app, world):
    cli_login(live_app, world)
    team = Team.objects.get(name="Acme")
    bad = cli(world, "webhooks", "add", team.slug, "gopher://127.0.0.1:6379/_INFO", "--json")
    assert bad.returncode == 2
    assert "must start with http:// or https://" in bad.stderr
    assert json.loads(bad.stdout)["code"] == "invalid_url"
    unknown = cli(world, "webhooks", "list", "no-such-team")
    assert unknown.returncode == 4 and "Only team admins" in unknown.stderr
    limit = cli(world, "webhooks", "deliveries", team.slug, "1", "--limit", "0")
    assert limit.returncode == 2 and "--limit" in limit.stderr
    assert not TeamWebhook.objects.exists()


def test_a_member_who_is_no_admin_gets_not_found(live_app, world):
    cli_login(live_app, world)
    other = factories.make_team("Globex", admin=factories.make_user("carol"))
    factories.add_member(other, User.objects.get(username="alice"))
    webhook = TeamWebhook.objects.create(team=other, url="https://example.com/h",
                                         secret_encrypted="x")
    for args in (("list", other.slug), ("delete", other.slug, str(webhook.pk))):
        result = cli(world, "webhooks", *args)
        assert result.returncode == 4, result.stderr
        assert "Only team admins can do this." in result.stderr
    assert TeamWebhook.objects.filter(pk=webhook.pk).exists()
