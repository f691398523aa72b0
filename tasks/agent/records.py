"""Plain records of what an attempt did: terminal chunks, steps, usage and the final result.

No Django here; the Celery job turns these into model rows and events.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Outcome = Literal["succeeded", "failed", "stopped", "cancelled"]


@dataclass
class TerminalChunk:
    """One shell command's recorded output; citations `【T:id†L3-L9】` refer to its lines."""

    chunk_id: str
    command: str
    cwd: str
    output: str = ""
    exit_code: int | None = None
    timed_out: bool = False

    @property
    def lines(self) -> list[str]:
        return self.output.splitlines()


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cached_input_tokens += other.cached_input_tokens


@dataclass
class ToolCallRecord:
    """A tool call the model made and what came of it."""

    call_id: str
    name: str
    arguments: str
    observation: str = ""  # what the model was shown
    ok: bool = True
    chunk_id: str = ""  # shell calls
    files: list[str] = field(default_factory=list)  # apply_patch calls


@dataclass
class Step:
    """One turn of the loop: the model's reply, its tool calls and their results, usage, timing."""

    index: int
    text: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    started_at: float = 0.0  # seconds since the attempt's agent phase began
    duration: float = 0.0
    model_attempts: int = 1  # HTTP attempts the model call took (retries + 1)


@dataclass
class Citation:
    """One citation in a final message and the worker's verdict on it (`valid`, `reason`).

    The worker checks it once (tasks/agent/citations.py) and stores `to_dict()` in the "summary"
    event; the page and the pull request read it back with `from_dict` instead of re-checking.
    """

    raw: str
    kind: Literal["F", "T"]
    target: str  # a path relative to the repository root, or a chunk id
    start: int
    end: int
    valid: bool = False
    reason: str = ""

    @classmethod
    def from_dict(cls, data: Any) -> Citation:
        """The citation `to_dict()` stored; ValueError when `data` is not one."""
        if not isinstance(data, dict):
            raise ValueError("a stored citation is an object")
        kind, start, end, valid = data.get("kind"), data.get("start"), data.get("end"), data.get(
            "valid")
        if kind not in ("F", "T") or not isinstance(valid, bool):
            raise ValueError("a stored citation has a kind F or T and a boolean verdict")
        if not (isinstance(start, int) and isinstance(end, int)):
            raise ValueError("a stored citation has integer line numbers")
        return cls(str(data.get("raw", "")), "F" if kind == "F" else "T",
                   str(data.get("target", "")), start, end, valid, str(data.get("reason") or ""))

    def to_dict(self) -> dict[str, Any]:
        """Every field, by name (the shape `from_dict` reads)."""
        return asdict(self)


@dataclass
class AgentResult:
    """How an attempt ended. `outcome` maps onto the Attempt status; `stop_reason` says why.

    stop_reason: "final_answer", "budget: turns", "budget: tokens", "budget: time",
    "cancelled", "stopped_by_person" (a person asked to stop after a step), or "error".
    """

    outcome: Outcome
    stop_reason: str
    final_message: str = ""
    error: str = ""
    citations: list[Citation] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    cost: float = 0.0
    steps: list[Step] = field(default_factory=list)
    chunks: dict[str, TerminalChunk] = field(default_factory=dict)
    conversation: list[dict[str, Any]] = field(default_factory=list)  # for a follow-up
    committed: bool = False  # a Code task's changes were committed inside the sandbox
    # The patch against the base, taken in the same exec as the commit (None: not taken then;
    # tasks/agent/collect.py's `collect_patch` takes it).
    patch: str | None = None
    # The final text of the files valid citations name (the first 40, each up to 256 kB), from
    # the same one read that checked them (tasks/agent/tree_exec.py).
    cited_files: dict[str, str] = field(default_factory=dict)
    duration: float = 0.0
