"""What the agent needs from settings and from the attempt, as plain frozen data.

The Celery side builds these (tasks/worker/agent.py); tests and the CLI build them directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from tasks.agent.conversation import ImageInput
from tasks.agent.records import TerminalChunk

WireApi = Literal["responses", "chat"]
Mode = Literal["ask", "code", "review"]


@dataclass(frozen=True)
class Prices:
    """US dollars per million tokens."""

    input: float = 0.0
    cached_input: float = 0.0
    output: float = 0.0


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of one model call on 429, 5xx, timeouts and dropped connections."""

    max_retries: int = 5
    base_delay: float = 1.0  # seconds; doubled each retry, with full jitter
    max_delay: float = 60.0  # cap for one wait, including a server's Retry-After


@dataclass(frozen=True)
class ModelConfig:
    base_url: str  # "" means the SDK default (api.openai.com)
    api_key: str
    model: str
    api: WireApi = "responses"
    reasoning_effort: str = ""  # "", "low", "medium", "high": sent only when set
    request_timeout: float = 600.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    prices: Prices = field(default_factory=Prices)


@dataclass(frozen=True)
class Budgets:
    max_turns: int = 100
    max_tokens: int = 2_000_000  # input + output, summed over all model calls
    wall_seconds: float = 3000.0


@dataclass(frozen=True)
class AgentConfig:
    model: ModelConfig
    budgets: Budgets = field(default_factory=Budgets)
    shell_default_timeout: float = 300.0
    shell_max_timeout: float = 1800.0
    max_output_bytes: int = 1_000_000  # per command, as recorded
    context_output_chars: int = 16_000  # per tool result, as the model sees it
    agents_md_max_chars: int = 32_000  # per AGENTS.md file given to the model
    check_reminders: int = 1  # times a Code task is sent back to run the AGENTS.md checks


@dataclass(frozen=True)
class AgentSpec:
    """One attempt: what to do, where, and with what configuration."""

    attempt_id: int
    mode: Mode
    prompt: str
    config: AgentConfig
    repository: str = ""  # "owner/name", for the prompt only
    team_instructions: str = ""
    base_commit: str = ""  # Code tasks: what the patch is taken against
    history: tuple[dict[str, Any], ...] = ()  # a follow-up: the parent attempt's conversation
    images: tuple[ImageInput, ...] = ()  # attached to `prompt`; sent as image inputs, never
    # written into the sandbox
    review_diff: str = ""  # Review tasks: the diff to review (computed on the host)
    # A follow-up: the recorded terminal chunks of the attempts it continues (the history names
    # their ids), which its citations may point at (tasks/agent/citations.py, `earlier`).
    earlier_chunks: tuple[TerminalChunk, ...] = ()
    commit_author: str = "codexweb agent <agent@codexweb.invalid>"
