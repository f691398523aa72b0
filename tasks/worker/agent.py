"""The Django side of the agent: settings and the Attempt in, events and the Attempt's end out.

`tasks/agent/` knows nothing of Django; this adapter builds its plain inputs from settings and
the database, turns `on_event` into `tasks.events.publish`, watches for cancellation, and records
the result through services. The Celery job (tasks/jobs.py) calls, with a started sandbox:

    base = collect.head_commit(sandbox)
    with cancel_watch(attempt_id, sandbox):
        result = run_agent_for_attempt(attempt_id, sandbox, base_commit=base)
    finish_attempt(attempt_id, result, sandbox=sandbox, base_commit=base)
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.utils import timezone

from tasks import event_kinds as kinds
from tasks import events, services
from tasks.agent.collect import collect_patch
from tasks.agent.config import AgentConfig, AgentSpec, Budgets, ModelConfig, Prices, RetryPolicy
from tasks.agent.loop import run_agent
from tasks.agent.model import ModelClient
from tasks.agent.records import AgentResult
from tasks.background import every
from tasks.models import FINISHED_STATUSES, Attempt, Mode, Status
from tasks.resilience import with_db_retry
from tasks.sandbox.base import Sandbox, SandboxError

logger = logging.getLogger(__name__)

COLLECT_MARGIN_SECONDS = 60

OUTCOME_STATUS = {
    "succeeded": Status.SUCCEEDED,
    "failed": Status.FAILED,
    "stopped": Status.STOPPED,
    "cancelled": Status.CANCELLED,
}


def agent_config(tier: str) -> AgentConfig:
    """The agent's configuration for a model tier ("strong" or "fast"), from settings."""
    if tier not in settings.MODEL_TIERS:
        raise ValueError(f"Unknown model tier {tier!r}.")
    options: dict[str, Any] = settings.MODEL_TIER_OPTIONS[tier]
    model = ModelConfig(
        base_url=settings.OPENAI_BASE_URL,
        api_key=settings.OPENAI_API_KEY,
        model=settings.MODEL_TIERS[tier],
        api=options["api"],
        reasoning_effort=options["reasoning_effort"],
        request_timeout=settings.MODEL_REQUEST_TIMEOUT,
        retry=RetryPolicy(
            max_retries=settings.MODEL_MAX_RETRIES,
            base_delay=settings.MODEL_RETRY_BASE_DELAY,
            max_delay=settings.MODEL_RETRY_MAX_DELAY,
        ),
        prices=Prices(
            input=options["price_input"],
            cached_input=options["price_cached_input"],
            output=options["price_output"],
        ),
    )
    return AgentConfig(
        model=model,
        budgets=Budgets(
            max_turns=settings.AGENT_MAX_TURNS,
            max_tokens=settings.AGENT_MAX_TOKENS,
            wall_seconds=min(settings.AGENT_WALL_SECONDS, settings.ATTEMPT_TIMEOUT_SECONDS),
        ),
        shell_default_timeout=settings.AGENT_SHELL_TIMEOUT,
        shell_max_timeout=max(settings.AGENT_SHELL_MAX_TIMEOUT, settings.AGENT_SHELL_TIMEOUT),
        context_output_chars=settings.AGENT_CONTEXT_OUTPUT_CHARS,
    )


def agent_spec(attempt: Attempt, *, base_commit: str) -> AgentSpec:
    """The plain-data description of `attempt` the agent runs from."""
    task = attempt.task
    follow_up = attempt.parent_id is not None and attempt.follow_up_prompt.strip()
    history: tuple[dict[str, Any], ...] = ()
    if follow_up and attempt.parent is not None:
        history = tuple(conversation_of(attempt.parent))
    return AgentSpec(
        attempt_id=attempt.pk,
        mode="code" if task.mode == Mode.CODE else "ask",
        prompt=attempt.follow_up_prompt if follow_up else task.prompt,
        config=agent_config(task.model_tier),
        repository=task.repository.full_name,
        team_instructions=task.team.instructions,
        base_commit=base_commit,
        history=history,
    )


def conversation_of(attempt: Attempt) -> list[dict[str, Any]]:
    """The stored conversation of a finished attempt."""
    return list(attempt.conversation) if isinstance(attempt.conversation, list) else []


def run_agent_for_attempt(attempt_id: int, sandbox: Sandbox, *, base_commit: str) -> AgentResult:
    """Run the agent for a claimed, running attempt in its started sandbox."""
    attempt = Attempt.objects.select_related("task__repository", "task__team", "parent").get(
        pk=attempt_id
    )
    spec = agent_spec(attempt, base_commit=base_commit)
    spec = dataclasses.replace(spec, config=_within_attempt_deadline(spec.config, attempt))

    def on_event(kind: str, payload: dict[str, Any]) -> None:
        events.publish(attempt_id, kind, payload)

    def cancelled() -> bool:
        return with_db_retry(
            lambda: Attempt.objects.filter(pk=attempt_id, status=Status.CANCELLED).exists(),
            what="check for cancellation",
        )

    model = ModelClient(spec.config.model)
    try:
        return run_agent(spec, sandbox, model, on_event, cancelled=cancelled)
    finally:
        model.close()


def _within_attempt_deadline(config: AgentConfig, attempt: Attempt) -> AgentConfig:
    """Shrink the agent's time budget so it ends (as "stopped: budget") before the sandbox's
    hard limit, which counts from the attempt's start and includes setup, and leaves a minute
    to take the patch."""
    if attempt.started_at is None:
        return config
    elapsed = (timezone.now() - attempt.started_at).total_seconds()
    left = settings.ATTEMPT_TIMEOUT_SECONDS - elapsed - COLLECT_MARGIN_SECONDS
    wall = max(10.0, min(config.budgets.wall_seconds, left))
    return dataclasses.replace(
        config, budgets=dataclasses.replace(config.budgets, wall_seconds=wall)
    )


def finish_attempt(
    attempt_id: int, result: AgentResult, *, sandbox: Sandbox, base_commit: str
) -> Attempt:
    """Take the patch (Code tasks), record tokens and the end of the attempt."""
    patch = ""
    error = result.error
    if result.committed:
        events.publish(
            attempt_id, kinds.PHASE, {"phase": "collect", "message": "Taking the patch."}
        )
        try:
            patch = collect_patch(sandbox, base_commit)
        except SandboxError as exc:
            # An attempt whose patch could not be taken never succeeds.
            error = error or f"Could not take the patch: {exc}"
            events.publish(attempt_id, kinds.ERROR, {"message": f"Could not take the patch: {exc}"})
            if result.outcome == "succeeded":
                result.outcome = "failed"
    cited = cited_files_of(result, sandbox)

    def record() -> Attempt:
        attempt_record_usage(attempt_id=attempt_id, result=result)
        services.attempt_store_cited_files(attempt_id=attempt_id, files=cited)
        return services.attempt_finish(
            attempt_id=attempt_id,
            status=OUTCOME_STATUS[result.outcome],
            error=error,
            summary=result.final_message,
            patch=patch,
        )

    return with_db_retry(record, what="record the end of the attempt")


def attempt_record_usage(*, attempt_id: int, result: AgentResult) -> None:
    """Store the attempt's token totals, cost and conversation (also in its usage events)."""
    services.attempt_record_usage(
        attempt_id=attempt_id,
        input_tokens=result.usage.input_tokens,
        output_tokens=result.usage.output_tokens,
        cost=result.cost,
        conversation=list(result.conversation),
    )


CITED_FILES_MAX = 40
CITED_FILE_MAX_BYTES = 256_000


def cited_files_of(result: AgentResult, sandbox: Sandbox) -> dict[str, str]:
    """The final text of each file a valid citation names (bounded in count and size)."""
    files: dict[str, str] = {}
    for citation in result.citations:
        if citation.kind != "F" or not citation.valid or citation.target in files:
            continue
        if len(files) >= CITED_FILES_MAX:
            break
        try:
            files[citation.target] = sandbox.read_file(
                citation.target, max_bytes=CITED_FILE_MAX_BYTES
            )
        except (SandboxError, OSError, ValueError) as exc:
            logger.info("could not keep cited file %s: %s", citation.target, exc)
    return files


@contextlib.contextmanager
def cancel_watch(attempt_id: int, sandbox: Sandbox, *, interval: float = 2.0) -> Iterator[None]:
    """While the block runs, poll the attempt and call `sandbox.cancel()` once it is cancelled
    (or was ended elsewhere, e.g. by housekeeping), so a long command stops within `interval`
    seconds, not at the next step."""

    def ended() -> bool:
        if not Attempt.objects.filter(pk=attempt_id, status__in=FINISHED_STATUSES).exists():
            return False
        sandbox.cancel()
        return True

    with every(interval, ended, name=f"cancel-watch-{attempt_id}"):
        yield
