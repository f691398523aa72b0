"""Just-in-time approval through the whole worker path (issue 14 item 3): the agent's request to
a host the repository's allowlist lacks is refused and shows up as an `egress` event while the
agent still runs; a teammate approves it through the REST API; the proxy re-reads its rules, the
agent's retry passes, and its next tool result says who approved what. Events come in the order
things happened, each with the proxy's own time. Real Docker, real mitmdump, a real loopback
target, the scripted model server; the approval comes from another thread, as a person would."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import threading
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from codexweb.api.tokens import api_token_create
from codexweb.audit.models import AuditEntry
from repos.services import repository_register
from tasks import event_kinds as kinds
from tasks.approvals.models import EgressApproval
from tasks.jobs import run_attempt
from tasks.models import Event, Status
from tasks.notifications.payloads import ATTEMPT_BLOCKED
from tasks.services import task_create
from tasks.worker import sandbox_settings
from tests.support.egress_target import start_egress_target
from tests.support.model_server import call, reply
from tests.support.processes import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]

ALLOWED = "allowed.test"
BLOCKED = "packages.blocked.test"
FETCH = f"curl -sS -m 10 http://{BLOCKED}/left-pad"
# Bounded: retries for up to 60 s, until the approval lets it through.
RETRY = (f"for i in $(seq 1 120); do curl -sf -m 5 http://{BLOCKED}/left-pad && exit 0; "
         "sleep 0.5; done; exit 1")


@pytest.fixture
def target():
    running = start_egress_target(ALLOWED)
    yield running.target
    running.shutdown()


@pytest.fixture
def proxied(worker_settings, monkeypatch, target):
    """The worker's Docker config, with the test names mapped to the loopback target (which the
    proxy reaches only because loopback is listed)."""
    real = sandbox_settings.docker_config
    runtime = Path(tempfile.mkdtemp(prefix="cxap-"))

    def config():
        return dataclasses.replace(
            real(),
            runtime_dir=runtime,
            egress_resolve={ALLOWED: target.address, BLOCKED: target.address},
            allow_private=("127.0.0.0/8",),
        )

    monkeypatch.setattr(sandbox_settings, "docker_config", config)
    yield worker_settings
    shutil.rmtree(runtime, ignore_errors=True)


def allowlisted_task(team, author, repo_path):
    repository = repository_register(team=team, location=str(repo_path))
    environment = repository.environment
    environment.internet_policy = "allowlist"
    environment.allowed_domains = [ALLOWED]
    environment.allowed_methods = ["GET", "HEAD"]
    environment.setup_internet_policy = "off"
    environment.save()
    return task_create(author=author, repository=repository, mode="ask",
                       prompt="Fetch left-pad.", base_branch="main")


def approve_when_refused(attempt, token: str) -> threading.Thread:
    """In a thread: once the refusal is in the log, approve it through the API."""
    result: dict[str, object] = {}

    def run() -> None:
        try:
            wait_until(lambda: Event.objects.filter(
                attempt=attempt, kind=kinds.EGRESS, payload__domain=BLOCKED,
                payload__approvable=True).exists(), timeout=120, what="the refusal event",
                interval=0.1)
            response = Client().post(
                f"/api/v1/attempts/{attempt.pk}/egress-approvals",
                {"host": BLOCKED}, content_type="application/json",
                headers={"Authorization": f"Bearer {token}"},
            )
            result["status"] = response.status_code
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.result = result  # type: ignore[attr-defined]
    thread.start()
    return thread


def test_a_refused_host_approved_mid_run_passes_and_the_agent_is_told(
    proxied, model_server, acme, alice, bob, fixture_repo, target
):
    model_server.add(
        reply(call("shell", {"command": FETCH})),
        reply(call("shell", {"command": RETRY})),
        reply("Fetched left-pad after bob approved its host."),
    )
    attempt = allowlisted_task(acme, alice, fixture_repo).attempts.get()
    approver = approve_when_refused(attempt, api_token_create(user=bob, name="cli").secret)

    run_attempt(attempt.pk)

    approver.join(timeout=30)
    assert approver.result == {"status": 201}  # type: ignore[attr-defined]
    attempt.refresh_from_db()
    assert attempt.status == Status.SUCCEEDED, attempt.error
    # The agent's first request was refused, its retry after the approval reached the target.
    first = model_server.requests[1].tool_outputs()[0]
    second = model_server.requests[2].tool_outputs()[1]
    assert "codexweb egress proxy: refused GET" in first
    assert "hello from the allowed test domain" in second
    assert f"bob approved requests to {BLOCKED} for this attempt" in second
    assert ("GET", BLOCKED, "/left-pad") in target.requests

    # The log, in the order things happened, each decision with the proxy's own time.
    log = list(attempt.events.order_by("seq"))
    egress = [e for e in log if e.kind == kinds.EGRESS and e.payload["domain"] == BLOCKED]
    refused, allowed = egress[0], next(e for e in egress if e.payload["allowed"])
    approval = next(e for e in log if e.kind == kinds.EGRESS_APPROVAL)
    assert refused.payload["approvable"] is True and refused.payload["allowed"] is False
    assert refused.payload["url"] == f"http://{BLOCKED}/left-pad"
    assert refused.seq < approval.seq < allowed.seq
    assert approval.payload == {"host": BLOCKED, "scope": "attempt", "by": "bob"}
    assert refused.payload["at"] < allowed.payload["at"]
    # Published while the agent ran, not after it: the refusal and the approval are in the log
    # before the retrying command ended (which waited for them).
    retry_end = [e for e in log if e.kind == kinds.COMMAND_END][-1]
    assert refused.seq < approval.seq < retry_end.seq

    assert EgressApproval.objects.get().taken_at is not None
    entry = AuditEntry.objects.get(action="egress.approved")
    assert (entry.actor_name, entry.changes["host"], entry.changes["scope"]) == (
        "bob", BLOCKED, "attempt")


def test_the_person_is_told_once_per_blocked_host(
    proxied, model_server, acme, alice, fixture_repo, monkeypatch
):
    told: list[tuple[int, str, str]] = []
    monkeypatch.setattr("tasks.worker.egress_follow.attempt_needs_attention",
                        lambda attempt_id, event, host: told.append((attempt_id, event, host)))
    model_server.add(
        reply(call("shell", {"command": f"{FETCH}; {FETCH}; curl -sS -m 5 http://other.test/"})),
        reply("Both were refused."),
    )
    attempt = allowlisted_task(acme, alice, fixture_repo).attempts.get()

    run_attempt(attempt.pk)

    attempt.refresh_from_db()
    assert attempt.status == Status.SUCCEEDED, attempt.error
    refusals = attempt.events.filter(kind=kinds.EGRESS, payload__allowed=False)
    assert refusals.filter(payload__domain=BLOCKED).count() == 2
    # BLOCKED once, other.test once, each named
    assert told == [
        (attempt.pk, ATTEMPT_BLOCKED, BLOCKED), (attempt.pk, ATTEMPT_BLOCKED, "other.test")
    ]
