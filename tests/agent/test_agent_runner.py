"""The Django adapter: settings -> AgentConfig, events -> Event rows, result -> Attempt."""

from __future__ import annotations

import pytest

from tasks import event_kinds as kinds
from tasks.models import Attempt, Event, Status
from tasks.sandbox.base import ExecResult
from tasks.worker.agent import agent_config, agent_spec, run_agent_in_sandbox
from tasks.worker.finish import collect_and_finish
from tests.support import factories
from tests.support.memory_sandbox import MemorySandbox
from tests.support.model_server import call, reply

PATCH = (
    "*** Begin Patch\n*** Update File: calc.py\n@@\n-    return a - b\n+    return a + b\n"
    "*** End Patch"
)
DIFF = "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n"


@pytest.fixture
def model_settings(settings, model_server):
    settings.OPENAI_BASE_URL = model_server.url
    settings.OPENAI_API_KEY = "sk-test"
    settings.MODEL_TIERS = {"strong": "big-model", "fast": "small-model"}
    settings.MODEL_TIER_OPTIONS = {
        tier: {"api": "chat", "reasoning_effort": "", "price_input": 1.0,
               "price_cached_input": 0.1, "price_output": 2.0}
        for tier in ("strong", "fast")
    }
    settings.MODEL_RETRY_BASE_DELAY = 0.01
    return settings


def test_agent_config_comes_from_settings(model_settings):
    model_settings.AGENT_WALL_SECONDS = 9000
    model_settings.ATTEMPT_TIMEOUT_SECONDS = 600
    config = agent_config("strong")
    assert config.model.model == "big-model"
    assert config.model.api == "chat"
    assert config.model.base_url == model_settings.OPENAI_BASE_URL
    assert config.model.prices.output == 2.0
    assert config.budgets.wall_seconds == 600  # never past the attempt's hard limit
    with pytest.raises(ValueError, match="Unknown model tier"):
        agent_config("medium")


def test_spec_carries_mode_prompt_and_team_instructions(model_settings, acme_repo, alice):
    acme_repo.team.instructions = "Write British English."
    acme_repo.team.save()
    task = factories.make_task(acme_repo, alice, mode="code", prompt="Fix add")
    spec = agent_spec(task.attempts.get(), base_commit="abc123")
    assert (spec.mode, spec.prompt, spec.base_commit) == ("code", "Fix add", "abc123")
    assert spec.team_instructions == "Write British English."
    assert spec.repository == "acme/webapp"
    assert spec.config.model.model == "small-model"  # the factory's tier is "fast"


def _running_attempt(repo, author, **kwargs) -> Attempt:
    task = factories.make_task(repo, author, **kwargs)
    attempt = task.attempts.get()
    Attempt.objects.filter(pk=attempt.pk).update(status=Status.RUNNING)
    return attempt


def test_a_code_attempt_records_events_tokens_summary_and_patch(
    model_settings, model_server, acme_repo, alice
):
    attempt = _running_attempt(acme_repo, alice, mode="code", prompt="Fix add")
    model_server.add(reply(call("apply_patch", {"patch": PATCH}), input_tokens=50,
                           output_tokens=5),
                     reply("Fixed 【F:calc.py†L2】.", input_tokens=70, output_tokens=9))
    sandbox = MemorySandbox(files={"calc.py": "def add(a, b):\n    return a - b\n"})
    sandbox.on_command = lambda command, cwd: ExecResult(0, DIFF if "diff" in command else "")

    result = run_agent_in_sandbox(attempt.pk, sandbox, base_commit="abc123")
    collect_and_finish(attempt.pk, result, sandbox=sandbox, base_commit="abc123")

    attempt.refresh_from_db()
    assert attempt.status == Status.SUCCEEDED
    assert attempt.summary == "Fixed 【F:calc.py†L2】."
    assert attempt.patch == DIFF
    assert (attempt.input_tokens, attempt.output_tokens) == (120, 14)
    seen = list(Event.objects.filter(attempt=attempt).order_by("seq").values_list("kind",
                                                                                    flat=True))
    assert seen == [kinds.PHASE, kinds.USAGE, kinds.PATCH, kinds.USAGE, kinds.SUMMARY,
                    kinds.PHASE, kinds.STATUS]
    summary = Event.objects.get(attempt=attempt, kind=kinds.SUMMARY).payload
    assert summary["citations"][0]["valid"] is True
    assert ("git -c core.quotePath=false -c diff.noprefix=false diff --no-ext-diff --no-textconv "
            "--no-color --binary --full-index abc123 HEAD --", "/workspace") in sandbox.commands


def test_a_cancelled_attempt_stays_cancelled(model_settings, model_server, acme_repo, alice):
    attempt = _running_attempt(acme_repo, alice)
    Attempt.objects.filter(pk=attempt.pk).update(status=Status.CANCELLED)
    sandbox = MemorySandbox()
    result = run_agent_in_sandbox(attempt.pk, sandbox, base_commit="")
    assert result.outcome == "cancelled"
    collect_and_finish(attempt.pk, result, sandbox=sandbox, base_commit="")
    attempt.refresh_from_db()
    assert attempt.status == Status.CANCELLED
    assert model_server.requests == []


def test_a_model_failure_fails_the_attempt_with_its_message(
    model_settings, model_server, acme_repo, alice
):
    model_settings.MODEL_MAX_RETRIES = 0
    model_server.add(reply("", status=401, error_body='{"error": {"message": "bad key"}}'))
    attempt = _running_attempt(acme_repo, alice)
    result = run_agent_in_sandbox(attempt.pk, MemorySandbox(), base_commit="")
    collect_and_finish(attempt.pk, result, sandbox=MemorySandbox(), base_commit="")
    attempt.refresh_from_db()
    assert attempt.status == Status.FAILED
    assert attempt.error == ("The model API refused the request: HTTP 401 Unauthorized: bad key. "
                             "Check OPENAI_API_KEY")


@pytest.mark.django_db(transaction=True)
def test_cancel_watch_stops_the_sandbox_soon_after_a_cancel(acme_repo, alice):
    import time

    from tasks.worker.cancel import cancel_watch

    attempt = _running_attempt(acme_repo, alice)
    sandbox = MemorySandbox()
    with cancel_watch(attempt.pk, sandbox, interval=0.05):
        time.sleep(0.2)
        assert not sandbox.cancelled
        Attempt.objects.filter(pk=attempt.pk).update(status=Status.CANCELLED)
        deadline = time.monotonic() + 5
        while not sandbox.cancelled and time.monotonic() < deadline:
            time.sleep(0.02)
    assert sandbox.cancelled


def test_the_time_budget_ends_before_the_attempt_deadline(model_settings, acme_repo, alice):
    import datetime

    from django.utils import timezone

    from tasks.worker.agent import _within_attempt_deadline

    model_settings.ATTEMPT_TIMEOUT_SECONDS = 3600
    model_settings.AGENT_WALL_SECONDS = 3000
    attempt = _running_attempt(acme_repo, alice)
    attempt.started_at = timezone.now() - datetime.timedelta(seconds=1800)  # a long setup
    config = _within_attempt_deadline(agent_config("fast"), attempt)
    assert 1735 <= config.budgets.wall_seconds <= 1740  # 3600 - 1800 - 60 for collecting


def test_an_unknown_wire_api_in_the_environment_is_refused():
    import os
    import subprocess
    import sys

    env = {**os.environ, "MODEL_STRONG_API": "grpc"}
    done = subprocess.run([sys.executable, "-c", "import codexweb.settings"], env=env,
                          capture_output=True, text=True)
    assert done.returncode != 0
    assert "MODEL_STRONG_API must be 'responses' or 'chat', not 'grpc'." in done.stderr
