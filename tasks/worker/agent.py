"""Step 4 of an attempt: run the agent in the started sandbox.

`tasks/agent/` knows nothing of Django; this adapter builds its plain inputs from settings and
the database (`agent_config`, `agent_spec`), turns `on_event` into `tasks.events.publish` and
answers "cancelled?" from the attempt row and "any messages from people?" from
`tasks.steering`. `tasks/worker/finish.py` records what it returns.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.conf import settings
from django.utils import timezone

from tasks import event_kinds as kinds
from tasks import events
from tasks.agent.config import (
    AgentConfig,
    AgentSpec,
    Budgets,
    ModelConfig,
    Prices,
    RetryPolicy,
)
from tasks.agent.config import Mode as AgentMode
from tasks.agent.loop import read_agents_files_soon, run_agent
from tasks.agent.model import shared_model_client
from tasks.agent.model_abort import ModelAbort
from tasks.agent.records import AgentResult, TerminalChunk
from tasks.agent.steering import Steer, TakeNotes, no_notes
from tasks.images.selectors import images_of_turn
from tasks.images.services import image_inputs
from tasks.models import Attempt, Mode
from tasks.recorded import attempt_chunks, continued_attempts
from tasks.resilience import with_db_retry
from tasks.sandbox.base import Sandbox
from tasks.steering.services import steer_take
from tasks.worker.cancel import attempt_cancelled

COLLECT_MARGIN_SECONDS = 60


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
    earlier: tuple[TerminalChunk, ...] = ()
    if follow_up and attempt.parent is not None:
        history = tuple(conversation_of(attempt.parent))
        for parent in continued_attempts(attempt):
            earlier += tuple(attempt_chunks(parent).values())
    return AgentSpec(
        attempt_id=attempt.pk,
        mode=AGENT_MODES.get(task.mode, "ask"),
        prompt=attempt.follow_up_prompt if follow_up else task.prompt,
        config=agent_config(task.model_tier),
        repository=task.repository.full_name,
        team_instructions=task.team.instructions,
        base_commit=base_commit,
        history=history,
        images=image_inputs(list(images_of_turn(task.pk, attempt.pk if follow_up else None))),
        review_diff=_review_diff(attempt) if task.mode == Mode.REVIEW else "",
        earlier_chunks=earlier,
    )


AGENT_MODES: dict[str, AgentMode] = {Mode.CODE: "code", Mode.ASK: "ask", Mode.REVIEW: "review"}


def _review_diff(attempt: Attempt) -> str:
    """The diff the workspace step stored for this Review attempt (tasks/reviews/targets.py)."""
    from tasks.reviews.models import ReviewRecord

    record = ReviewRecord.objects.filter(attempt=attempt).first()
    return record.diff if record is not None else ""


def conversation_of(attempt: Attempt) -> list[dict[str, Any]]:
    """The stored conversation of a finished attempt."""
    return list(attempt.conversation) if isinstance(attempt.conversation, list) else []


def run_agent_in_sandbox(
    attempt_id: int, sandbox: Sandbox, *, base_commit: str, notes: TakeNotes = no_notes,
    model_abort: ModelAbort | None = None,
) -> AgentResult:
    """Run the agent for a claimed, running attempt in its started sandbox. `notes()`: what
    to tell the agent after its next tool call (approved hosts: tasks/worker/egress_follow.py).
    `model_abort`: aborted by the cancel watch (tasks/worker/cancel.py) to end a model reply
    in flight."""
    agents_files = read_agents_files_soon(sandbox)  # overlaps the reads below
    attempt = Attempt.objects.select_related("task__repository", "task__team", "parent").get(
        pk=attempt_id
    )
    spec = agent_spec(attempt, base_commit=base_commit)
    spec = dataclasses.replace(spec, config=_within_attempt_deadline(spec.config, attempt))

    publisher = LoopEvents(attempt_id)

    def steering() -> list[Steer]:
        return with_db_retry(
            lambda: steer_take(attempt_id=attempt_id), what="take messages for the agent"
        )

    model = shared_model_client(spec.config.model)
    try:
        return run_agent(spec, sandbox, model, publisher.on_event,
                         cancelled=lambda: attempt_cancelled(attempt_id), steering=steering,
                         notes=notes, agents_files=agents_files, model_abort=model_abort)
    finally:
        publisher.flush()


class LoopEvents:
    """The agent loop's `on_event`: publishes each event as it comes, except that a `usage`
    event (the tokens after a model reply) waits for the next event and is written in its
    transaction, ahead of it. A reply is always followed by another event (a command, a patch,
    the summary...), so the person sees the same events in the same order, and the tool's
    result is one commit nearer to the reply. `flush()` writes what still waits."""

    DEFERRED = frozenset({kinds.USAGE})

    def __init__(self, attempt_id: int) -> None:
        self.attempt_id = attempt_id
        self.waiting: list[tuple[str, dict[str, Any]]] = []

    def on_event(self, kind: str, payload: dict[str, Any]) -> None:
        if kind in self.DEFERRED:
            self.waiting.append((kind, payload))
            return
        entries, self.waiting = [*self.waiting, (kind, payload)], []
        events.publish_many(self.attempt_id, entries)

    def flush(self) -> None:
        entries, self.waiting = self.waiting, []
        if entries:
            events.publish_many(self.attempt_id, entries)


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
